"""The ``transformers`` runtime: a Qwen2-VL or Qwen2.5-VL checkpoint run in this process.

torch and transformers are an optional extra (``pip install 'gre-suite[hf]'``)
and are imported only when the model is loaded, never by importing this module.

torchvision is never needed. transformers 5 cannot build a Qwen-VL processor
without it (the processor insists on a video processor, which needs
torchvision), and PyPI's torchvision is a CUDA build that can break the Qwen-VL
import, so the processor's work is done here from its parts: the tokenizer and
its chat template, the PIL ("slow") Qwen2-VL image processor, and the expansion
of each ``<|image_pad|>`` placeholder to the image's number of tokens.

There is no guided decoding: a request's JSON schema is appended to its last
user turn, and :class:`~gre.agent.vlm.model_backend.ModelBackend` validates,
retries and repairs the reply as for any runtime.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from gre.agent.vlm.chat import (
    ChatError,
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    TextPart,
    text_only,
)
from gre.agent.vlm.images import load_for_model
from gre.config import Settings

MISSING = "the transformers backend needs torch and transformers: pip install 'gre-suite[hf]'"
SUPPORTED = ("qwen2_vl", "qwen2_5_vl")
IMAGE_TOKEN = "<|image_pad|>"
SCHEMA_NOTE = "\n\nReply with one JSON object matching this JSON schema: "
_IMAGE_CACHE = 8


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


HUB_OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_offline() -> None:
    """Keep huggingface_hub and transformers off the network (``--offline``).

    They read these switches when first imported, so this runs before the import; a
    huggingface_hub imported earlier in the process is switched over as well.
    """
    for name in HUB_OFFLINE_SWITCHES:
        os.environ[name] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        setattr(constants, "HF_HUB_OFFLINE", True)  # noqa: B010 (a module read at call time)


def _modules() -> tuple[Any, Any]:
    """torch and transformers, imported now (a broken install is a ChatError too)."""
    try:
        torch = importlib.import_module("torch")
        transformers = importlib.import_module("transformers")
    except Exception as exc:  # ImportError, or a CUDA/torchvision mismatch raising at import
        raise ChatError(f"{MISSING} ({type(exc).__name__}: {_one_line(exc)})") from None
    return torch, transformers


def _version(module: Any) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", str(getattr(module, "__version__", "0.0")))
    return (int(match[1]), int(match[2])) if match else (0, 0)


def resolve_device(torch: Any, spec: str) -> Any:
    """``hf_device`` as a torch.device: auto (CUDA when available, else CPU), cpu, cuda, cuda:N."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec != "cpu" and not re.fullmatch(r"cuda(:\d+)?", spec):
        raise ChatError(f"hf_device must be auto, cpu, cuda or cuda:N, not {spec!r}")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ChatError(
                f"hf_device={spec} but CUDA is not available to torch {torch.__version__}"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ChatError(
                f"hf_device={spec} but there are {torch.cuda.device_count()} CUDA devices"
            )
    return device


def resolve_dtype(torch: Any, spec: str, device: Any) -> Any:
    """``hf_dtype`` as a torch.dtype; auto: bfloat16 on CUDA (else float16), float32 on CPU."""
    if spec == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, spec)


def template_messages(request: ChatRequest) -> tuple[list[dict[str, Any]], list[str]]:
    """The request as chat-template messages, and its image paths in order.

    A JSON schema, when the request has one, is appended to the last user turn as
    an instruction (compact JSON), since nothing here constrains decoding. There is
    no function calling here: function-call turns arrive as text (``text_only``).
    """
    messages = text_only(list(request.messages))
    if request.json_schema is not None:
        schema = json.dumps(request.json_schema, separators=(",", ":"), ensure_ascii=False)
        note = TextPart(text=SCHEMA_NOTE + schema)
        users = [i for i, m in enumerate(messages) if m.role == "user"]
        if users:
            last = messages[users[-1]]
            messages[users[-1]] = Message(role="user", content=[*last.content, note])
        else:
            messages.append(Message(role="user", content=[note]))
    out: list[dict[str, Any]] = []
    images: list[str] = []
    for message in messages:
        content: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, ImagePart):
                images.append(part.path)
                content.append({"type": "image"})
            else:
                content.append({"type": "text", "text": part.text})
        out.append({"role": message.role, "content": content})
    return out, images


@dataclass(frozen=True)
class LoadInfo:
    """What :meth:`TransformersChat.load` loaded, where, and how long it took."""

    model_type: str
    device: str
    dtype: str
    parameters: int
    seconds: float


@dataclass
class _Runtime:
    torch: Any
    model: Any
    tokenizer: Any
    image_processor: Any
    device: Any
    dtype: Any
    image_token_id: int
    merge_size: int
    eos_ids: frozenset[int]
    pad_id: int | None
    mm_token_types: bool  # transformers 5 wants mm_token_type_ids for Qwen-VL's 3D positions
    info: LoadInfo


def _looks_local(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", "\\")) or bool(
        re.match(r"[A-Za-z]:[\\/]", model)
    )


def _chat_template(transformers: Any, tokenizer: Any, source: str, local_only: bool) -> str:
    """The tokenizer's chat template, else the processor's (chat_template.jinja or .json)."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str) and template:
        return template
    for name in ("chat_template.jinja", "chat_template.json"):
        try:
            found = transformers.utils.cached_file(
                source,
                name,
                local_files_only=local_only,
                _raise_exceptions_for_missing_entries=False,
                _raise_exceptions_for_connection_errors=False,
            )
        except Exception:  # a hub error: there is no such file to use
            found = None
        if not found:
            continue
        text = Path(found).read_text("utf-8")
        value = json.loads(text).get("chat_template") if name.endswith(".json") else text
        if isinstance(value, str) and value:
            return value
    raise ChatError(f"cannot load model at {source}: it has no chat template")


def _image_processor(transformers: Any, source: str, local_only: bool) -> Any:
    """The PIL Qwen2-VL image processor (no torchvision): ``backend="pil"`` in 5.x, slow in 4.x."""
    kwargs: dict[str, Any] = {"local_files_only": local_only}
    if _version(transformers) >= (5, 0):
        kwargs["backend"] = "pil"
    else:
        kwargs["use_fast"] = False
    return transformers.AutoImageProcessor.from_pretrained(source, **kwargs)


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return frozenset(ids)


class TransformersChat:
    """A Qwen2-VL / Qwen2.5-VL model loaded once (on first use or :meth:`load`) and reused.

    ``settings.model`` is a local directory or a hub id (from the local cache
    only when ``settings.offline``); ``hf_device`` and ``hf_dtype`` place it.
    Requests are served one at a time (a lock around preprocessing and generate).
    """

    name = "transformers"
    native_tool_calls = False
    """Requests come as the stage JSON's field (no function calling in process)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.model:
            raise ChatError(
                "the transformers backend needs a model: set GRE_MODEL to a local directory "
                "or a hub id (e.g. Qwen/Qwen2.5-VL-7B-Instruct)"
            )
        source = Path(settings.model).expanduser()
        if source.exists() or _looks_local(settings.model):
            if not source.is_dir():
                why = "not a directory" if source.exists() else "no such directory"
                raise ChatError(f"cannot load model at {settings.model}: {why}")
            self._source = str(source)
        else:
            self._source = settings.model  # a hub id
        missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            raise ChatError(f"{MISSING} ({' and '.join(missing)} not installed)")
        self.settings = settings
        self.model: str | None = settings.model
        self._rt: _Runtime | None = None
        self._failed: ChatError | None = None  # a failed load is not retried on every request
        self._lock = threading.Lock()
        self._images: OrderedDict[tuple[str, int, int, int], Image.Image] = OrderedDict()

    def load(self) -> LoadInfo:
        """Load the model now (idempotent); raises ChatError with a one-line reason."""
        with self._lock:
            return self._load().info

    def _load(self) -> _Runtime:
        if self._rt is not None:
            return self._rt
        if self._failed is not None:
            raise ChatError(str(self._failed))
        try:
            self._rt = self._load_now()
        except ChatError as exc:
            self._failed = exc
            raise
        return self._rt

    def _load_now(self) -> _Runtime:
        if self.settings.offline:
            hub_offline()  # before transformers (and huggingface_hub) are imported
        torch, transformers = _modules()
        device = resolve_device(torch, self.settings.hf_device)
        dtype = resolve_dtype(torch, self.settings.hf_dtype, device)
        source, local_only = self._source, self.settings.offline
        t0 = time.perf_counter()
        if Path(source).is_dir() and not (Path(source) / "config.json").is_file():
            raise ChatError(f"cannot load model at {source}: no config.json there")
        try:
            config = transformers.AutoConfig.from_pretrained(source, local_files_only=local_only)
        except Exception as exc:
            raise ChatError(f"cannot load model at {source}: {_one_line(exc)}") from None
        # the class's: transformers 4 forwards instance attributes to text_config
        model_type = str(getattr(type(config), "model_type", "?"))
        if model_type not in SUPPORTED:
            raise ChatError(
                f"the transformers backend runs Qwen2-VL and Qwen2.5-VL models; {source} is a "
                f"{model_type!r} model"
            )
        # device_map loads weights straight onto the device but needs accelerate; without it,
        # load on the CPU and move.
        placement = (
            {"device_map": str(device)}
            if importlib.util.find_spec("accelerate") is not None
            else {}
        )
        dtype_key = "dtype" if _version(transformers) >= (4, 56) else "torch_dtype"
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=local_only
            )
            tokenizer.chat_template = _chat_template(transformers, tokenizer, source, local_only)
            image_processor = _image_processor(transformers, source, local_only)
            model = transformers.AutoModelForImageTextToText.from_pretrained(
                source,
                config=config,
                local_files_only=local_only,
                **{dtype_key: dtype},
                **placement,
            )
            if not placement:
                model = model.to(device)
            model.eval()
        except ChatError:
            raise
        except Exception as exc:
            raise ChatError(f"cannot load model at {source}: {_one_line(exc)}") from None
        image_token_id = int(getattr(config, "image_token_id", -1))
        if tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) != image_token_id:
            raise ChatError(
                f"cannot load model at {source}: the tokenizer's {IMAGE_TOKEN} is not the "
                f"model's image token ({image_token_id})"
            )
        eos_ids = _eos_ids(model, tokenizer)
        pad_id = getattr(model.generation_config, "pad_token_id", None)
        if pad_id is None:
            pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos_ids)
        info = LoadInfo(
            model_type=model_type,
            device=str(device),
            dtype=str(dtype).removeprefix("torch."),
            parameters=sum(p.numel() for p in model.parameters()),
            seconds=time.perf_counter() - t0,
        )
        return _Runtime(
            torch=torch,
            model=model,
            tokenizer=tokenizer,
            image_processor=image_processor,
            device=device,
            dtype=dtype,
            image_token_id=image_token_id,
            merge_size=int(getattr(image_processor, "merge_size", 2)),
            eos_ids=eos_ids,
            pad_id=None if pad_id is None else int(pad_id),
            mm_token_types="mm_token_type_ids" in inspect.signature(model.forward).parameters,
            info=info,
        )

    def _image(self, path: str) -> Image.Image:
        """The image downscaled to ``model_max_pixels``, cached (every stage sends the same one)."""
        budget = self.settings.model_max_pixels
        try:
            p = Path(path)
            stat = p.stat()
            key = (str(p.resolve()), stat.st_size, stat.st_mtime_ns, budget)
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
            image = load_for_model(p, budget)
        except Exception as exc:  # OSError, PIL's UnidentifiedImageError, a decompression bomb
            raise ChatError(f"cannot read image {path}: {_one_line(exc)}") from None
        self._images[key] = image
        while len(self._images) > _IMAGE_CACHE:
            self._images.popitem(last=False)
        return image

    def _inputs(self, rt: _Runtime, request: ChatRequest) -> dict[str, Any]:
        """Tensors for generate: what the Qwen-VL processor would build, without torchvision."""
        messages, paths = template_messages(request)
        images = [self._image(p) for p in paths]
        text = rt.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        pieces = str(text).split(IMAGE_TOKEN)
        if len(pieces) - 1 != len(images):
            raise ChatError(
                f"the prompt has {len(pieces) - 1} image placeholders for {len(images)} images"
            )
        inputs: dict[str, Any] = {}
        if images:
            features = rt.image_processor(images=images, return_tensors="pt")
            grid = features["image_grid_thw"]
            counts = [int(g.prod()) // rt.merge_size**2 for g in grid]
            text = pieces[0] + "".join(
                IMAGE_TOKEN * n + piece for n, piece in zip(counts, pieces[1:], strict=True)
            )
            inputs["pixel_values"] = features["pixel_values"].to(rt.device, rt.dtype)
            inputs["image_grid_thw"] = grid.to(rt.device)
        encoded = rt.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        input_ids = encoded["input_ids"].to(rt.device)
        inputs["input_ids"] = input_ids
        inputs["attention_mask"] = encoded["attention_mask"].to(rt.device)
        if rt.mm_token_types:
            inputs["mm_token_type_ids"] = (input_ids == rt.image_token_id).long()
        return inputs

    def _generation_kwargs(self, rt: _Runtime, request: ChatRequest) -> dict[str, Any]:
        """Length and sampling for generate, over the checkpoint's generation config.

        Temperature 0 is greedy; above 0 it samples the whole distribution at that
        temperature (Qwen's own top_k=1 / top_p=0.001 would make sampling greedy).
        Passed as keyword arguments, which win over the checkpoint's config in both
        transformers 4 and 5 (a GenerationConfig object does not in 4: values equal to
        the global defaults are replaced by the checkpoint's).
        """
        sample = request.temperature > 0
        return {
            "max_new_tokens": request.max_tokens,
            "pad_token_id": rt.pad_id,
            "do_sample": sample,
            "temperature": request.temperature if sample else 1.0,
            "top_p": 1.0,
            "top_k": 0 if sample else 50,
        }

    def chat(self, request: ChatRequest) -> ChatResponse:
        with self._lock:
            rt = self._load()
            t0 = time.perf_counter()
            try:
                inputs = self._inputs(rt, request)
                prompt_tokens = int(inputs["input_ids"].shape[1])
                with rt.torch.inference_mode():
                    output = rt.model.generate(**inputs, **self._generation_kwargs(rt, request))
                new = [int(t) for t in output[0, prompt_tokens:].tolist()]
                text = str(rt.tokenizer.decode(new, skip_special_tokens=True))
            except ChatError:
                raise
            except Exception as exc:  # out of memory, a shape error from an odd checkpoint, ...
                raise ChatError(
                    f"transformers generation failed: {type(exc).__name__}: {_one_line(exc)}"
                ) from None
            latency = (time.perf_counter() - t0) * 1000
        stopped = bool(new) and new[-1] in rt.eos_ids
        finish = "length" if not stopped and len(new) >= request.max_tokens else "stop"
        return ChatResponse(
            text=text,
            finish_reason=finish,
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(new),
                "total_tokens": prompt_tokens + len(new),
            },
            latency_ms=latency,
            model=self.model,
        )

    def close(self) -> None:
        """Drop the model (and free its CUDA memory); a later chat loads it again."""
        with self._lock:
            on_cuda = self._rt is not None and self._rt.device.type == "cuda"
            self._rt = None
            self._failed = None
            self._images.clear()
        if on_cuda:
            importlib.import_module("torch").cuda.empty_cache()
