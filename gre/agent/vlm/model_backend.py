"""A reasoning backend over any chat model: prompts, structured output, tool requests, repair."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gre.agent.vlm.base import BackendCapabilities, StageContext
from gre.agent.vlm.chat import (
    ChatError,
    ChatModel,
    ChatRequest,
    ChatResponse,
    Message,
    ToolCallsRefused,
)
from gre.agent.vlm.prompts import stage_request
from gre.agent.vlm.stage_output import (
    StageOutputError,
    ToolOffer,
    parse_stage,
    repair_stage,
)
from gre.agent.vlm.tool_calls import leftover_calls, requests_from_calls
from gre.config import Settings
from gre.records import Stage, StageResult

SERVER_HINT = "for vLLM: --enable-auto-tool-choice --tool-call-parser hermes"
FALLBACK_NOTE = (
    f"the model server does not take function calls ({SERVER_HINT}); "
    "tool requests go in the JSON answer from now on"
)
_CALL_TEXT = re.compile(r"<tool_call>.*?(?:</tool_call>|$)", re.DOTALL)


def _add_usage(total: dict[str, int], usage: dict[str, int]) -> dict[str, int]:
    out = dict(total)
    for key, value in usage.items():
        out[key] = out.get(key, 0) + int(value)
    return out


@dataclass
class _Tally:
    """What one stage call spent, and what it has to say about itself."""

    usage: dict[str, int] = field(default_factory=dict)
    latency: float = 0.0
    attempts: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, reply: ChatResponse) -> None:
        self.usage = _add_usage(self.usage, reply.usage)
        self.latency += reply.latency_ms
        self.notes.extend(reply.problems)

    def stamp(self, result: StageResult, backend: str, round_: int, **extra: Any) -> StageResult:
        notes = [*([result.error] if result.error else []), *self.notes]
        return result.model_copy(
            update={
                "backend": backend,
                "usage": self.usage,
                "latency_ms": self.latency,
                "attempts": self.attempts,
                "round": round_,
                "error": "; ".join(notes) if notes else None,
                **extra,
            }
        )


class ModelBackend:
    """Asks a chat model for each stage and turns its JSON (or function calls) into a StageResult.

    An invalid or truncated reply is sent back once with the error; if the
    second reply is still invalid, its valid parts are salvaged; failing that,
    the stage is recorded as failed. Function calls become tool requests, the
    malformed ones carrying their error. Nothing is raised.
    """

    def __init__(self, chat: ChatModel, settings: Settings) -> None:
        self.chat = chat
        self.settings = settings
        self.name = chat.name
        self.model = chat.model
        self.capabilities = BackendCapabilities(follow_up=True, native_tool_calls=self._native())

    def _native(self) -> bool:
        return self.chat.native_tool_calls

    def _request(
        self, stage: Stage, images: Sequence[Path], context: StageContext, native: bool
    ) -> ChatRequest:
        return stage_request(
            stage,
            list(images),
            context,
            max_tokens=self.settings.model_max_tokens,
            temperature=self.settings.temperature,
            native=native,
        )

    def propose(self, stage: Stage, images: Sequence[Path], context: StageContext) -> StageResult:
        request = self._request(stage, images, context, self._native())
        offer = ToolOffer.of([c.name for c in context.tools], context.max_requests)
        tally = _Tally()
        replies: list[ChatResponse] = []
        error = ""
        while tally.attempts < 2:
            tally.attempts += 1
            try:
                reply = self.chat.chat(request)
            except ToolCallsRefused as exc:
                if self._native():  # tool calling is "on": nothing to fall back to
                    return self._failed(
                        stage,
                        context,
                        tally,
                        f"{exc} ({SERVER_HINT}, or GRE_MODEL_TOOL_CALLING=auto)",
                    )
                tally.attempts -= 1  # the server's refusal is not the model's failure
                tally.notes.append(FALLBACK_NOTE)
                self.capabilities = self.capabilities.model_copy(
                    update={"native_tool_calls": False}
                )
                request = self._request(stage, images, context, False)
                continue
            except ChatError as exc:
                return self._failed(
                    stage, context, tally, str(exc), replies[-1].text if replies else None
                )
            replies.append(reply)
            tally.add(reply)
            if request.tools and (reply.tool_calls or "<tool_call>" in reply.text):
                return self._called(stage, context, reply, tally)
            parse_offer = None if request.tools else offer
            try:
                if reply.finish_reason == "length":
                    raise StageOutputError(
                        f"the reply was cut off at {request.max_tokens} tokens; answer more briefly"
                    )
                result = parse_stage(stage, reply.text, parse_offer)
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
            return tally.stamp(result, self.name, context.round, raw=reply.text)
        last = replies[-1].text
        try:
            repaired = repair_stage(stage, last, None if request.tools else offer)
        except StageOutputError as exc:
            return self._failed(
                stage,
                context,
                tally,
                f"invalid model output after a retry: {error}; repair failed: {exc}",
                last,
            )
        note = f"repaired after a retry ({error})"
        repaired = repaired.model_copy(
            update={"error": f"{note}; dropped: {repaired.error}" if repaired.error else note}
        )
        return tally.stamp(repaired, self.name, context.round, raw=last, repaired=True)

    def _called(
        self, stage: Stage, context: StageContext, reply: ChatResponse, tally: _Tally
    ) -> StageResult:
        """A reply that called functions: its calls as requests, its text read if it is JSON."""
        names = [c.name for c in context.tools]
        requests, notes = requests_from_calls(reply.tool_calls, names, round_=context.round)
        requests += leftover_calls(reply.text, round_=context.round)
        said = _CALL_TEXT.sub("", reply.text).strip()
        result = StageResult(stage=stage)
        if said:
            try:
                result = parse_stage(stage, said)
                notes.append("the reply had text beside its function calls: read as the answer")
            except StageOutputError:
                try:
                    result = repair_stage(stage, said)
                    notes.append("the reply's text beside its function calls was repaired")
                except StageOutputError:
                    notes.append(
                        "the reply's text beside its function calls is not a stage answer; ignored"
                    )
        tally.notes.extend(notes)
        raw = json.dumps(
            {"content": reply.text, "tool_calls": [c.model_dump() for c in reply.tool_calls]},
            ensure_ascii=False,
        )
        result = result.model_copy(update={"tool_requests": [*result.tool_requests, *requests]})
        return tally.stamp(result, self.name, context.round, raw=raw)

    def _failed(
        self,
        stage: Stage,
        context: StageContext,
        tally: _Tally,
        error: str,
        raw: str | None = None,
    ) -> StageResult:
        failed = StageResult(stage=stage, ok=False, error=error)
        return tally.stamp(failed, self.name, context.round, raw=raw, ok=False)

    def prepare(self) -> str | None:
        """Load an in-process model before the first photo; returns the error in one line."""
        try:
            self.chat.load()
        except ChatError as exc:
            return str(exc)
        return None

    def generate(self, request: ChatRequest) -> ChatResponse:
        """A free-text completion (GRE's single-pass protocol); raises ChatError."""
        return self.chat.chat(request)

    def close(self) -> None:
        self.chat.close()
