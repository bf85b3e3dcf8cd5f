"""The ``vllm`` runtime: in-process ``vllm.LLM`` for a machine with a GPU and vLLM installed.

vLLM is an optional extra (``pip install 'gre-suite[vllm]'``) and is never
imported unless this backend is chosen. Prompts, schemas and parsing are the
same as for the HTTP backend; structured output uses vLLM's guided decoding.
Tool requests are a field of the JSON answer (no function calling in process).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from typing import Any

from gre.agent.vlm.chat import ChatError, ChatRequest, ChatResponse, text_only
from gre.agent.vlm.hf import hub_offline
from gre.agent.vlm.images import DataUrlCache
from gre.agent.vlm.openai_http import openai_messages
from gre.config import Settings

MISSING = (
    "the vllm backend needs vLLM on a machine with a GPU: pip install 'gre-suite[vllm]' "
    "(or serve the model with `vllm serve` and use GRE_BACKEND=openai)"
)


def _vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ChatError(f"{MISSING} ({exc})") from None
    return vllm


def _sampling(vllm: Any, request: ChatRequest) -> Any:
    """SamplingParams with the JSON schema as guided decoding (both of vLLM's spellings)."""
    kwargs: dict[str, Any] = {"max_tokens": request.max_tokens, "temperature": request.temperature}
    if request.json_schema is not None:
        params = vllm.sampling_params
        if hasattr(params, "StructuredOutputsParams"):
            kwargs["structured_outputs"] = params.StructuredOutputsParams(json=request.json_schema)
        else:
            kwargs["guided_decoding"] = params.GuidedDecodingParams(json=request.json_schema)
    return vllm.SamplingParams(**kwargs)


class VLLMChat:
    """A model loaded in this process by vLLM (prefix caching on, one image per prompt)."""

    name = "vllm"
    native_tool_calls = False
    """Requests come as the stage JSON's field (no function calling in process)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.model:
            raise ChatError("the vllm backend needs a model: set GRE_MODEL to a path or hub id")
        if importlib.util.find_spec("vllm") is None:
            raise ChatError(MISSING)
        self.settings = settings
        self.model: str | None = settings.model
        self._llm: Any = None
        self._lock = threading.Lock()
        self._images = DataUrlCache()

    def _load(self) -> Any:
        if self._llm is None:
            if self.settings.offline:  # before vLLM imports transformers and the hub client
                hub_offline()
            vllm = _vllm()
            try:
                self._llm = vllm.LLM(
                    model=self.settings.model,
                    enable_prefix_caching=True,
                    limit_mm_per_prompt={"image": 1},
                    mm_processor_kwargs={"max_pixels": self.settings.model_max_pixels},
                )
            except Exception as exc:  # vLLM raises many kinds on load
                raise ChatError(f"vLLM cannot load {self.settings.model}: {exc}") from None
        return self._llm

    def load(self) -> None:
        """Load the model now (before the first photo); raises ChatError."""
        with self._lock:
            self._load()

    def chat(self, request: ChatRequest) -> ChatResponse:
        with self._lock:
            llm = self._load()
            vllm = _vllm()
            plain = request.model_copy(update={"messages": text_only(request.messages)})
            messages = openai_messages(plain, self._images, self.settings.model_max_pixels)
            t0 = time.perf_counter()
            try:
                outputs = llm.chat(messages, _sampling(vllm, request), use_tqdm=False)
            except Exception as exc:
                raise ChatError(f"vLLM generation failed: {exc}") from None
            latency = (time.perf_counter() - t0) * 1000
        first = outputs[0]
        completion = first.outputs[0]
        prompt_tokens = len(first.prompt_token_ids or [])
        completion_tokens = len(completion.token_ids or [])
        return ChatResponse(
            text=completion.text,
            finish_reason=completion.finish_reason,
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            latency_ms=latency,
            model=self.model,
        )

    def close(self) -> None:
        self._llm = None
