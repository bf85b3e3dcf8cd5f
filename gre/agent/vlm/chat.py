"""The one interface every model runtime implements: a chat completion over text and images.

``openai`` (HTTP), ``transformers`` and ``vllm`` (in-process) each turn a
:class:`ChatRequest` into text. Prompting, structured output and parsing live
above this line (:mod:`gre.agent.vlm.model_backend`), so they are written once.

Function calling travels in the same records: a request may offer ``tools``
(OpenAI function entries), a reply may carry ``tool_calls``, and a conversation
may hold an assistant turn that called functions and one ``tool`` turn per call.
Only a runtime that says it can (``native_tool_calls``) is ever sent those; the
others get the same conversation as plain text (:func:`text_only`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from gre.errors import GreError

Role = Literal["system", "user", "assistant", "tool"]


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


class FunctionCall(BaseModel):
    """One function call as the runtime returned it: arguments are JSON text, unchecked.

    ``problem`` says what made the call unreadable on the wire (not an object, no
    function); what the call means is decided above the runtime.
    """

    model_config = ConfigDict(frozen=True)
    id: str = ""
    name: str = ""
    arguments: str = ""
    problem: str | None = None


class Message(BaseModel):
    role: Role
    content: list[Part]
    tool_calls: list[FunctionCall] = Field(
        default_factory=list, description="an assistant turn's function calls"
    )
    tool_call_id: str | None = Field(default=None, description="a tool turn: the call it answers")

    @classmethod
    def text(cls, role: Role, text: str) -> Message:
        return cls(role=role, content=[TextPart(text=text)])

    @classmethod
    def calls(cls, calls: list[FunctionCall], text: str = "") -> Message:
        """An assistant turn that called functions (with what it said besides, if anything)."""
        return cls(
            role="assistant", content=[TextPart(text=text)] if text else [], tool_calls=calls
        )

    @classmethod
    def result(cls, call_id: str, text: str) -> Message:
        """A tool turn: the result of call ``call_id``."""
        return cls(role="tool", content=[TextPart(text=text)], tool_call_id=call_id)

    def images(self) -> list[str]:
        return [p.path for p in self.content if isinstance(p, ImagePart)]

    def plain(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class ChatRequest(BaseModel):
    """One completion: messages (images inline), optionally a JSON schema and functions."""

    messages: list[Message]
    json_schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    tools: list[dict[str, Any]] = Field(
        default_factory=list, description="OpenAI function entries the model may call"
    )
    max_tokens: int = 1024
    temperature: float = 0.0


class ChatResponse(BaseModel):
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = Field(default_factory=dict)
    latency_ms: float = 0.0
    model: str | None = None
    tool_calls: list[FunctionCall] = Field(default_factory=list)
    problems: list[str] = Field(
        default_factory=list, description="what was wrong with the reply's shape, one line each"
    )


class ChatError(GreError, RuntimeError):
    """A completion failed for good (after retries); the message is one line."""


class ToolCallsRefused(ChatError):
    """The server will not take ``tools`` (e.g. vLLM started without auto tool choice)."""


@runtime_checkable
class ChatModel(Protocol):
    """A model runtime. ``chat`` and ``load`` raise :class:`ChatError`, never anything else.

    A runtime with function calling says so with a true ``native_tool_calls``; one
    without it is never sent ``tools``, tool-call turns or tool turns.
    """

    name: str
    model: str | None

    @property
    def native_tool_calls(self) -> bool: ...

    def load(self) -> object:
        """Load the model or reach its server before the first photo."""
        ...

    def chat(self, request: ChatRequest) -> ChatResponse: ...

    def close(self) -> None: ...


def text_only(messages: list[Message]) -> list[Message]:
    """The conversation without function-calling turns, for runtimes that have none.

    An assistant turn's calls become its text (one JSON object per call), and a tool
    turn becomes a user turn naming the call it answers.
    """
    out: list[Message] = []
    for message in messages:
        if message.tool_calls:
            calls = "\n".join(
                json.dumps({"id": c.id, "tool": c.name, "input": c.arguments}, ensure_ascii=False)
                for c in message.tool_calls
            )
            said = message.plain()
            out.append(Message.text("assistant", f"{said}\n{calls}" if said else calls))
        elif message.role == "tool":
            out.append(
                Message.text("user", f"Result of call {message.tool_call_id}:\n{message.plain()}")
            )
        else:
            out.append(message)
    return out
