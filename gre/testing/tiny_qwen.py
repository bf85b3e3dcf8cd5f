"""A tiny, randomly initialised Qwen-VL checkpoint, built offline, for tests and smoke checks.

Nothing is downloaded: a byte-level BPE tokenizer is trained here on a few
sentences (with Qwen's special tokens), the weights are random but seeded, and
everything is saved the way a hub checkpoint is, so it loads through the
``transformers`` backend's real loading code::

    path = build_tiny_qwen(tmp_path / "tiny-qwen")
    chat = TransformersChat(Settings(backend="transformers", model=str(path)))

Its replies are gibberish; what it exercises is loading, the chat template,
image preprocessing and image-token expansion, generation and decoding, in a
second on a CPU. Needs torch and transformers (``pip install 'gre-suite[hf]'``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Literal

Kind = Literal["qwen2_5_vl", "qwen2_vl"]

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2-VL / Qwen2.5-VL's own chat template (from the checkpoints' chat_template.json).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

CORPUS = (
    "You are a careful photo geolocation assistant. Look at the image and reply with one "
    "JSON object: a summary, clues, hypotheses and OCR regions.",
    '{"summary": "old town centre", "clues": [{"kind": "architecture", "value": "arcades", '
    '"confidence": 0.7}], "hypotheses": [{"level": "city", "name": "Arezzo", '
    '"country_code": "IT", "lat": 43.46, "lon": 11.88, "confidence": 0.6}]}',
    "Street signs, licence plates, road markings, vegetation, climate, language and script "
    "are clues. Country, region, city and street are levels.",
)

# The image processor's own pixel bounds (gre downscales before it, to model_max_pixels).
MIN_PIXELS = 56 * 56
MAX_PIXELS = 28 * 28 * 256


def _import(name: str) -> Any:
    return importlib.import_module(name)


def _tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE trained on :data:`CORPUS`, special tokens first (ids 0-6)."""
    tk = _import("tokenizers")
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(CORPUS), trainer)
    return _import("transformers").PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
    )


def _config(kind: Kind, tokenizer: Any, hidden: int) -> Any:
    transformers = _import("transformers")
    ids = {t: int(tokenizer.convert_tokens_to_ids(t)) for t in SPECIAL_TOKENS}
    vocab = -(-len(tokenizer) // 64) * 64  # padded past the tokenizer, as Qwen's are
    heads = 2
    head_dim = hidden // heads  # mrope splits head_dim / 2 as Qwen does: 1/4, 3/8, 3/8
    text = {
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": 2,
        "num_attention_heads": heads,
        "num_key_value_heads": 1,
        "max_position_embeddings": 32768,
        "rope_scaling": {
            "type": "mrope",
            "mrope_section": [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16],
        },
        "rope_theta": 1_000_000.0,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    if kind == "qwen2_5_vl":
        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": hidden,
            "fullatt_block_indexes": [1],
            "window_size": 112,
        }
        config_class = transformers.Qwen2_5_VLConfig
    else:
        vision = {
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": hidden,
            "mlp_ratio": 2,
            "num_heads": 2,
        }
        config_class = transformers.Qwen2VLConfig
    vision |= {"patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}
    return config_class(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )


def build_tiny_qwen(
    directory: str | Path,
    *,
    kind: Kind = "qwen2_5_vl",
    seed: int = 0,
    hidden_size: int = 64,
    vocab_size: int = 512,
) -> Path:
    """Save a tiny random Qwen2.5-VL (or Qwen2-VL) with its tokenizer and image processor.

    The directory then holds what a hub checkpoint holds (config, safetensors
    weights, generation config, tokenizer with chat template, image processor
    config) and nothing needs torchvision. Returns the directory.
    """
    torch = _import("torch")
    transformers = _import("transformers")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(vocab_size)
    config = _config(kind, tokenizer, hidden_size)
    model_class = (
        transformers.Qwen2_5_VLForConditionalGeneration
        if kind == "qwen2_5_vl"
        else transformers.Qwen2VLForConditionalGeneration
    )
    torch.manual_seed(seed)
    model = model_class(config).eval()
    eos, pad = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    model.generation_config = transformers.GenerationConfig(  # as Qwen2.5-VL-Instruct's
        bos_token_id=pad,
        eos_token_id=[eos, pad],
        pad_token_id=pad,
        do_sample=True,
        temperature=0.1,
        top_p=0.001,
        top_k=1,
        repetition_penalty=1.05,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # The PIL processor's class name differs across transformers versions; the saved config
    # names the canonical "Qwen2VLImageProcessor" either way.
    image_processor_class = (
        transformers.Qwen2VLImageProcessorPil  # transformers 5
        if hasattr(transformers, "Qwen2VLImageProcessorPil")
        else transformers.Qwen2VLImageProcessor  # transformers 4: the slow one is PIL
    )
    image_processor_class(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS).save_pretrained(out)
    return out
