"""A reasoning backend over any chat model: prompts, structured output, retry, repair."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gre.agent.vlm.base import BackendCapabilities, StageContext
from gre.agent.vlm.chat import ChatError, ChatModel, ChatRequest, ChatResponse, Message
from gre.agent.vlm.prompts import stage_request
from gre.agent.vlm.stage_output import StageOutputError, parse_stage, repair_stage
from gre.config import Settings
from gre.records import Stage, StageResult


def _add_usage(total: dict[str, int], usage: dict[str, int]) -> dict[str, int]:
    out = dict(total)
    for key, value in usage.items():
        out[key] = out.get(key, 0) + int(value)
    return out


class ModelBackend:
    """Asks a chat model for each stage and turns its JSON into a StageResult.

    An invalid or truncated reply is sent back once with the error; if the
    second reply is still invalid, its valid parts are salvaged; failing that,
    the stage is recorded as failed. Nothing is raised.
    """

    capabilities = BackendCapabilities()

    def __init__(self, chat: ChatModel, settings: Settings) -> None:
        self.chat = chat
        self.settings = settings
        self.name = chat.name
        self.model = chat.model

    def propose(self, stage: Stage, images: Sequence[Path], context: StageContext) -> StageResult:
        request = stage_request(
            stage,
            list(images),
            context,
            max_tokens=self.settings.model_max_tokens,
            temperature=self.settings.temperature,
        )
        usage: dict[str, int] = {}
        latency = 0.0
        attempts = 0
        replies: list[ChatResponse] = []
        error = ""
        for _ in range(2):
            attempts += 1
            try:
                reply = self.chat.chat(request)
            except ChatError as exc:
                return StageResult(
                    stage=stage,
                    ok=False,
                    backend=self.name,
                    error=str(exc),
                    usage=usage,
                    latency_ms=latency,
                    attempts=attempts,
                    raw=replies[-1].text if replies else None,
                )
            replies.append(reply)
            usage = _add_usage(usage, reply.usage)
            latency += reply.latency_ms
            try:
                if reply.finish_reason == "length":
                    raise StageOutputError(
                        f"the reply was cut off at {request.max_tokens} tokens; answer more briefly"
                    )
                result = parse_stage(stage, reply.text)
            except StageOutputError as exc:
                error = str(exc)
                request = request.model_copy(
                    update={
                        "messages": [
                            *request.messages,
                            Message.text("assistant", reply.text),
                            Message.text(
                                "user",
                                f"That reply is not valid: {error}. Reply again with only the "
                                "JSON object, following the schema.",
                            ),
                        ]
                    }
                )
                continue
            return result.model_copy(
                update={
                    "backend": self.name,
                    "usage": usage,
                    "latency_ms": latency,
                    "attempts": attempts,
                    "raw": reply.text,
                }
            )
        last = replies[-1].text
        try:
            repaired = repair_stage(stage, last)
        except StageOutputError as exc:
            return StageResult(
                stage=stage,
                ok=False,
                backend=self.name,
                error=f"invalid model output after a retry: {error}; repair failed: {exc}",
                usage=usage,
                latency_ms=latency,
                attempts=attempts,
                raw=last,
            )
        note = f"repaired after a retry ({error})"
        return repaired.model_copy(
            update={
                "backend": self.name,
                "usage": usage,
                "latency_ms": latency,
                "attempts": attempts,
                "raw": last,
                "repaired": True,
                "error": f"{note}; dropped: {repaired.error}" if repaired.error else note,
            }
        )

    def prepare(self) -> str | None:
        """Load an in-process model before the first photo; returns the error in one line."""
        load = getattr(self.chat, "load", None)
        if not callable(load):
            return None
        try:
            load()
        except ChatError as exc:
            return str(exc)
        return None

    def generate(self, request: ChatRequest) -> ChatResponse:
        """A free-text completion (GRE's single-pass protocol); raises ChatError."""
        return self.chat.chat(request)

    def close(self) -> None:
        self.chat.close()
