"""The one interface every model runtime implements: a chat completion over text and images.

``openai`` (HTTP), ``transformers`` and ``vllm`` (in-process) each turn a
:class:`ChatRequest` into text. Prompting, structured output and parsing live
above this line (:mod:`gre.agent.vlm.model_backend`), so they are written once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from gre.errors import GreError


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """A local image file; each runtime loads and downscales it its own way."""

    model_config = ConfigDict(frozen=True)
    type: Literal["image"] = "image"
    path: str


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: list[Part]

    @classmethod
    def text(cls, role: Literal["system", "user", "assistant"], text: str) -> Message:
        return cls(role=role, content=[TextPart(text=text)])

    def images(self) -> list[str]:
        return [p.path for p in self.content if isinstance(p, ImagePart)]

    def plain(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class ChatRequest(BaseModel):
    """One completion: messages (images inline), and optionally a JSON schema to follow."""

    messages: list[Message]
    json_schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    max_tokens: int = 1024
    temperature: float = 0.0


class ChatResponse(BaseModel):
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = Field(default_factory=dict)
    latency_ms: float = 0.0
    model: str | None = None


class ChatError(GreError, RuntimeError):
    """A completion failed for good (after retries); the message is one line."""


@runtime_checkable
class ChatModel(Protocol):
    """A model runtime. ``chat`` raises :class:`ChatError`, never anything else."""

    name: str
    model: str | None

    def chat(self, request: ChatRequest) -> ChatResponse: ...

    def close(self) -> None: ...
