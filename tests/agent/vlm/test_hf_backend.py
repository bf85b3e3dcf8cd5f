"""The transformers backend on a tiny random Qwen-VL built here: real loading, real generate, CPU.

Nothing is downloaded: :func:`gre.testing.tiny_qwen.build_tiny_qwen` trains a
tokenizer and saves random weights; the backend then loads that directory with
its own code. Tests that need torch and transformers skip without them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gre.agent.vlm import BackendError, make_backend
from gre.agent.vlm.chat import ChatError, ChatRequest, ImagePart, Message, TextPart
from gre.agent.vlm.hf import SCHEMA_NOTE, TransformersChat, template_messages
from gre.agent.vlm.images import load_for_model
from gre.agent.vlm.model_backend import ModelBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.tools.base import ToolRegistry

BUDGET = 28 * 28 * 16  # model_max_pixels in these tests: 16 patches of 28x28 at most
SKIP = "the transformers backend needs torch and transformers (pip install 'gre-suite[hf]')"


def _hf() -> Any:
    pytest.importorskip("torch", reason=SKIP)
    return pytest.importorskip("transformers", reason=SKIP)


@pytest.fixture(scope="module", params=["qwen2_5_vl", "qwen2_vl"])
def tiny(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _hf()
    from gre.testing.tiny_qwen import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp(request.param), kind=request.param)


@pytest.fixture(scope="module")
def tiny25(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _hf()
    from gre.testing.tiny_qwen import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("qwen2_5_vl"))


def _settings(model: Path | str, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": "transformers",
        "model": str(model),
        "offline": True,
        "hf_device": "cpu",
        "model_max_pixels": BUDGET,
    }
    return Settings(**(values | kw))


def _ask(image: Path | None, text: str = "Where was this photo taken?", **kw: Any) -> ChatRequest:
    content: list[Any] = [ImagePart(path=str(image))] if image else []
    return ChatRequest(
        messages=[
            Message.text("system", "You locate photos."),
            Message(role="user", content=[*content, TextPart(text=text)]),
        ],
        **kw,
    )


@pytest.fixture
def photo(photo_of: Callable[..., Path]) -> Path:
    """Noise, so the vision tower sees more than a flat colour."""
    return photo_of("street.png", size=(800, 600), noise=True)


def test_import_does_not_import_torch(tmp_path: Path) -> None:
    code = (
        "import importlib.util, sys\n"
        "import gre.agent.vlm.hf as hf\n"
        "from gre.agent.vlm import make_backend\n"
        "from gre.config import Settings\n"
        "if importlib.util.find_spec('torch') and importlib.util.find_spec('transformers'):\n"
        f"    s = Settings(backend='transformers', model={str(tmp_path)!r})\n"
        "    hf.TransformersChat(s)\n"
        "    make_backend(s)\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_needs_a_model() -> None:
    with pytest.raises(ChatError, match="needs a model") as err:
        TransformersChat(Settings(backend="transformers"))
    assert "\n" not in str(err.value)


def test_missing_packages_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # find_spec now says: not installed
    settings = Settings(backend="transformers", model=str(tmp_path))
    with pytest.raises(ChatError) as err:
        TransformersChat(settings)
    assert str(err.value).count("\n") == 0
    assert "pip install 'gre-suite[hf]'" in str(err.value) and "transformers" in str(err.value)
    with pytest.raises(BackendError, match="gre-suite"):
        make_backend(settings)


def test_missing_model_path_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ChatError) as err:
        TransformersChat(_settings(missing))
    assert str(err.value) == f"cannot load model at {missing}: no such directory"
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ChatError, match=r"model\.safetensors: not a directory$"):
        TransformersChat(_settings(tmp_path / "model.safetensors"))


def test_a_directory_without_a_model_fails_cleanly(tmp_path: Path, session_cache: Path) -> None:
    _hf()
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = _settings(empty, cache_dir=session_cache, max_steps=3)
    chat = TransformersChat(settings)
    with pytest.raises(ChatError, match=f"^cannot load model at {empty}: ") as err:
        chat.load()
    assert "\n" not in str(err.value)
    # through ModelBackend the failure is a failed stage, not an exception
    with Locator(settings, backend=ModelBackend(chat, settings), registry=ToolRegistry()) as loc:
        trace = loc.locate(_noise(tmp_path / "p.png"))
    assert trace.error is None and trace.prediction.abstained
    assert [s.ok for s in trace.stages] == [False, False, False]
    assert all("cannot load model" in (s.error or "") for s in trace.stages)


def test_other_model_types_are_refused(tmp_path: Path) -> None:
    transformers = _hf()
    transformers.BertConfig(num_hidden_layers=1).save_pretrained(tmp_path)
    with pytest.raises(ChatError, match=r"runs Qwen2-VL and Qwen2\.5-VL models; .* 'bert' model"):
        TransformersChat(_settings(tmp_path)).load()


def _without_chat_template(tiny: Path, out: Path) -> str:
    shutil.copytree(tiny, out)
    template = (out / "chat_template.jinja").read_text("utf-8")
    (out / "chat_template.jinja").unlink()
    config = json.loads((out / "tokenizer_config.json").read_text("utf-8"))
    config.pop("chat_template", None)
    (out / "tokenizer_config.json").write_text(json.dumps(config), "utf-8")
    return template


def test_the_processor_chat_template_is_used_when_the_tokenizer_has_none(
    tiny25: Path, tmp_path: Path, photo: Path
) -> None:
    template = _without_chat_template(tiny25, tmp_path / "m")
    with pytest.raises(ChatError, match="it has no chat template"):
        TransformersChat(_settings(tmp_path / "m")).load()
    (tmp_path / "m" / "chat_template.json").write_text(json.dumps({"chat_template": template}))
    chat = TransformersChat(_settings(tmp_path / "m"))
    reference = TransformersChat(_settings(tiny25))
    request = _ask(photo, max_tokens=4)
    assert chat.chat(request).usage == reference.chat(request).usage


def test_bad_device_is_a_chat_error(tiny25: Path) -> None:
    import torch

    with pytest.raises(ChatError, match="hf_device must be auto, cpu, cuda or cuda:N"):
        TransformersChat(_settings(tiny25, hf_device="tpu")).load()
    if not torch.cuda.is_available():
        with pytest.raises(ChatError, match="CUDA is not available"):
            TransformersChat(_settings(tiny25, hf_device="cuda")).load()


def test_template_messages_append_the_schema_to_the_last_user_turn() -> None:
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}
    request = ChatRequest(
        messages=[
            Message.text("system", "sys"),
            Message(role="user", content=[ImagePart(path="a.jpg"), TextPart(text="first")]),
            Message.text("assistant", "{"),
            Message(role="user", content=[TextPart(text="again"), ImagePart(path="b.jpg")]),
        ],
        json_schema=schema,
    )
    messages, images = template_messages(request)
    assert images == ["a.jpg", "b.jpg"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == [{"type": "image"}, {"type": "text", "text": "first"}]
    last = messages[-1]["content"]
    assert last[:2] == [{"type": "text", "text": "again"}, {"type": "image"}]
    assert last[2]["text"] == SCHEMA_NOTE + json.dumps(schema, separators=(",", ":"))
    assert "Reply with one JSON object matching this JSON schema" in last[2]["text"]
    assert template_messages(request.model_copy(update={"json_schema": None}))[0][-1][
        "content"
    ] == [{"type": "text", "text": "again"}, {"type": "image"}]


def test_generates_from_a_real_image(tiny: Path, shared_data: Path) -> None:
    image = shared_data / "images" / "exif" / "exifsamples_arezzo_DSCN0010.jpg"
    chat = TransformersChat(_settings(tiny))
    info = chat.load()
    assert info.device == "cpu" and info.dtype == "float32" and info.seconds > 0
    reply = chat.chat(_ask(image, max_tokens=12))
    assert isinstance(reply.text, str) and reply.model == str(tiny)
    assert reply.finish_reason in ("length", "stop")
    usage = reply.usage
    assert 1 <= usage["completion_tokens"] <= 12
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert reply.latency_ms > 0
    text_only = chat.chat(_ask(None, max_tokens=12))
    assert text_only.usage["prompt_tokens"] < usage["prompt_tokens"]
    # greedy decoding of the same request by the same loaded model gives the same reply
    assert chat.chat(_ask(image, max_tokens=12)).text == reply.text
    assert chat.load() is info  # loaded once, reused
    chat.close()


def test_the_image_is_downscaled_to_model_max_pixels(tiny25: Path, shared_data: Path) -> None:
    transformers = _hf()
    from gre.agent.vlm.hf import _image_processor

    image = shared_data / "images" / "exif" / "exifsamples_arezzo_DSCN0010.jpg"
    processor = _image_processor(transformers, str(tiny25), True)

    def tokens(img: Image.Image) -> int:
        grid = processor(images=[img], return_tensors="np")["image_grid_thw"][0]
        return int(grid.prod()) // processor.merge_size**2

    resized = load_for_model(image, BUDGET)
    assert resized.width * resized.height <= BUDGET < 640 * 480
    expected = tokens(resized)
    assert expected != tokens(Image.open(image).convert("RGB"))

    chat = TransformersChat(_settings(tiny25))
    with_image = chat.chat(_ask(image, max_tokens=4)).usage["prompt_tokens"]
    without = chat.chat(_ask(None, max_tokens=4)).usage["prompt_tokens"]
    assert with_image - without == expected + 2  # the pads, plus <|vision_start|> and _end|>


def test_schema_and_sampling(tiny25: Path, photo: Path) -> None:
    chat = TransformersChat(_settings(tiny25))
    plain = chat.chat(_ask(photo, max_tokens=8))
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}
    shaped = chat.chat(_ask(photo, max_tokens=8, json_schema=schema, temperature=0.9))
    assert shaped.usage["prompt_tokens"] > plain.usage["prompt_tokens"]  # the schema is in
    assert shaped.finish_reason in ("length", "stop") and isinstance(shaped.text, str)


def test_an_eos_is_a_stop(tiny25: Path, photo: Path) -> None:
    import torch

    chat = TransformersChat(_settings(tiny25))
    chat.load()
    assert chat._rt is not None
    with torch.no_grad():  # all logits equal: greedy picks id 0, <|endoftext|>, an EOS
        chat._rt.model.lm_head.weight.zero_()
    reply = chat.chat(_ask(photo, max_tokens=8))
    assert reply.finish_reason == "stop" and reply.text == ""
    assert reply.usage["completion_tokens"] == 1


def test_a_bad_image_is_a_chat_error(tiny25: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(ChatError, match="cannot read image"):
        TransformersChat(_settings(tiny25)).chat(_ask(bad, max_tokens=4))


def test_concurrent_requests_share_one_model(tiny25: Path, photo: Path) -> None:
    chat = TransformersChat(_settings(tiny25))
    replies: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            replies.append(chat.chat(_ask(photo, max_tokens=6)).text)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(replies) == 3 and len(set(replies)) == 1


def _noise(path: Path) -> Path:
    Image.effect_noise((640, 480), 50).convert("RGB").save(path)
    return path


def test_a_run_through_the_graph_ends_cleanly(
    tiny25: Path, photo: Path, session_cache: Path
) -> None:
    settings = _settings(tiny25, cache_dir=session_cache, max_steps=3, model_max_tokens=16)
    backend = ModelBackend(TransformersChat(settings), settings)
    with Locator(settings, backend=backend, registry=ToolRegistry()) as loc:
        trace = loc.locate(photo)
    assert trace.error is None
    assert trace.backend == "transformers" and trace.model == str(tiny25)
    assert [s.stage for s in trace.stages] == ["scene", "details", "semantic"]
    for stage in trace.stages:
        assert stage.attempts >= 1
        assert stage.usage["prompt_tokens"] > 0 and stage.usage["completion_tokens"] > 0
        assert stage.ok or stage.error
    # gibberish never becomes a confident answer
    assert trace.prediction.abstained or trace.prediction.confidence < 0.5
