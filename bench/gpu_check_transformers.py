"""GPU check of the transformers backend: load, generate and one staged run, on CUDA if present.

By default it builds the tiny random Qwen2.5-VL of :mod:`gre.testing.tiny_qwen`
(nothing is downloaded) and loads it through ``TransformersChat``'s real code on
``cuda`` when torch sees a GPU; otherwise it says CUDA is unavailable and uses
the CPU. ``--model PATH`` checks a real checkpoint instead. It prints the
device, dtype, load time and tokens/s, then runs one photo through the staged
graph. Exits 0; 1 when the backend fails (a ChatError) or a stage raised.

    .venv/bin/python bench/gpu_check_transformers.py [--model PATH] [--kind qwen2_vl]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from gre.agent.vlm.chat import ChatError, ChatRequest, ImagePart, Message, TextPart
from gre.agent.vlm.hf import TransformersChat
from gre.agent.vlm.model_backend import ModelBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.tools.base import ToolRegistry

REPO = Path(__file__).resolve().parents[1]
AREZZO = REPO.parent / "shared" / "data" / "images" / "exif" / "exifsamples_arezzo_DSCN0010.jpg"


def _request(image: Path | None, max_tokens: int) -> ChatRequest:
    content = [ImagePart(path=str(image))] if image else []
    return ChatRequest(
        messages=[
            Message.text("system", "You locate photos."),
            Message(role="user", content=[*content, TextPart(text="Where was this taken?")]),
        ],
        max_tokens=max_tokens,
    )


def _photo(tmp: Path) -> Path:
    if AREZZO.exists():
        return AREZZO
    path = tmp / "noise.png"
    Image.effect_noise((640, 480), 60).convert("RGB").save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a real Qwen2-VL / Qwen2.5-VL checkpoint (default: tiny)")
    parser.add_argument("--kind", choices=["qwen2_5_vl", "qwen2_vl"], default="qwen2_5_vl")
    parser.add_argument(
        "--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto"
    )
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not all(importlib.util.find_spec(m) for m in ("torch", "transformers")):
        print("torch and transformers are not installed: pip install 'gre-suite[hf]'")
        return 0
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        print(f"CUDA: {torch.cuda.get_device_name(0)} (torch {torch.__version__})")
    else:
        print(f"CUDA is unavailable to torch {torch.__version__}: running on the CPU")
    with tempfile.TemporaryDirectory(prefix="gre-gpu-check-") as tmp:
        model = args.model
        if model is None:
            from gre.testing.tiny_qwen import build_tiny_qwen

            t0 = time.perf_counter()
            model = str(build_tiny_qwen(Path(tmp) / "tiny", kind=args.kind))
            print(f"built tiny {args.kind} in {time.perf_counter() - t0:.2f} s")
        settings = Settings(
            backend="transformers",
            model=model,
            hf_device="cuda" if cuda else "cpu",
            hf_dtype=args.dtype,
            offline=True,
            cache_dir=Path(tmp) / "cache",
            max_steps=3,
            model_max_tokens=max(16, args.max_tokens),
        )
        photo = _photo(Path(tmp))
        try:
            chat = TransformersChat(settings)
            info = chat.load()
            print(
                f"loaded {info.model_type} ({info.parameters:,} parameters) on {info.device} "
                f"as {info.dtype} in {info.seconds:.2f} s"
            )
            chat.chat(_request(photo, 4))  # warm-up
            for label, image in (("image", photo), ("text", None)):
                for i in range(args.runs):
                    reply = chat.chat(_request(image, args.max_tokens))
                    u = reply.usage
                    rate = u["completion_tokens"] / max(reply.latency_ms / 1000, 1e-9)
                    print(
                        f"{label} run {i + 1}: {u['prompt_tokens']} prompt + "
                        f"{u['completion_tokens']} new tokens in {reply.latency_ms:.0f} ms "
                        f"= {rate:.1f} tokens/s ({reply.finish_reason})"
                    )
            t0 = time.perf_counter()
            with Locator(
                settings, backend=ModelBackend(chat, settings), registry=ToolRegistry()
            ) as loc:
                trace = loc.locate(photo)
            print(f"staged run in {time.perf_counter() - t0:.2f} s, error={trace.error}")
            for stage in trace.stages:
                print(
                    f"  {stage.stage}: ok={stage.ok} attempts={stage.attempts} usage={stage.usage}"
                )
            print(
                f"  prediction: {trace.prediction.label} (abstained={trace.prediction.abstained})"
            )
            if cuda:
                peak = torch.cuda.max_memory_allocated() / 2**20
                print(f"peak CUDA memory: {peak:.1f} MiB")
        except ChatError as exc:
            print(f"FAILED: {exc}")
            return 1
    return 1 if trace.error else 0


if __name__ == "__main__":
    sys.exit(main())
