"""Stage prompts (package data) and the messages built from them.

Message order is fixed so that every stage of one photo shares a prefix: the
system prompt, then the image, then the stage's text. An inference server with
prefix caching (vLLM ``--enable-prefix-caching``) then encodes the image once
per photo, not once per stage.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template

from gre.agent.vlm.base import StageContext
from gre.agent.vlm.chat import ChatRequest, ImagePart, Message, TextPart
from gre.agent.vlm.stage_output import stage_schema
from gre.records import Stage

MAX_CONTEXT_CHARS = 6000
MAX_LINES = 40


@cache
def template(name: str) -> str:
    """The text of prompt ``name`` (system, scene, details, semantic, direct)."""
    return resources.files("gre.agent.prompts").joinpath(f"{name}.md").read_text("utf-8")


def quote(text: str) -> str:
    """Text from a photo or a tool, made inert: JSON-quoted, angle brackets neutralised."""
    return json.dumps(str(text), ensure_ascii=False).replace("<", "‹").replace(">", "›")


def _tool_lines(context: StageContext) -> list[str]:
    lines: list[str] = []
    for ev in context.evidence:
        if not ev.ok:
            continue
        r = ev.result
        if ev.tool == "exif":
            gps = r.get("gps")
            if gps:
                lines.append(f"exif: GPS {gps['lat']:.5f}, {gps['lon']:.5f}")
            if r.get("taken_at"):
                lines.append(
                    f"exif: taken {quote(r['taken_at'])} {quote(r.get('utc_offset') or '')}"
                )
        elif ev.tool == "ocr":
            for line in r.get("lines", [])[:MAX_LINES]:
                lines.append(f"ocr: {quote(line['text'])} (confidence {line['confidence']:.0f})")
        elif ev.tool == "text_clues":
            langs = ", ".join(f"{g['code']} {g['confidence']:.2f}" for g in r.get("languages", []))
            countries = ", ".join(
                f"{c['code']} {c['weight']:.2f}" for c in r.get("countries", [])[:6]
            )
            lines.append(f"text_clues: languages [{langs}], countries [{countries}]")
            for key in ("phones", "domains", "currencies", "postcodes"):
                for item in r.get(key, [])[:3]:
                    lines.append(f"text_clues {key}: {quote(item.get('text', ''))}")
        elif ev.tool in ("osm", "overpass"):
            asked = ev.query.get("name") or ", ".join(
                f"{t['key']}={t.get('value') or '*'}" for t in ev.query.get("tags", [])
            )
            features = r.get("features", [])
            lines.append(f"{ev.tool}: {quote(asked)} -> {len(features)} feature(s)")
            for f in features[:3]:
                lines.append(f"  {quote(f.get('name') or '')} at {f['lat']:.5f}, {f['lon']:.5f}")
        elif ev.tool == "search":
            for res in r.get("results", [])[:5]:
                lines.append(
                    f"search: {quote(res.get('title', ''))} ({res.get('domain', '')}): "
                    f"{quote(str(res.get('snippet', ''))[:200])}"
                )
        elif ev.tool == "geocode":
            for p in r.get("places", [])[:2]:
                lines.append(
                    f"geocode: {quote(ev.query.get('query') or '')} -> "
                    f"{quote(p.get('display_name', ''))} at {p['lat']:.5f}, {p['lon']:.5f}"
                )
        elif ev.tool == "gazetteer":
            for m in r.get("mentions", []):
                places = "; ".join(
                    f"{p['name']}, {p.get('admin1') or ''}, {p.get('country_code')} "
                    f"(pop {p.get('population', 0)})"
                    for p in m.get("places", [])[:3]
                )
                lines.append(f"gazetteer: {quote(m['text'])} -> {quote(places)}")
            for p in r.get("places", [])[:3]:
                lines.append(
                    f"gazetteer: {quote(ev.query.get('name') or '')} -> {quote(p['name'])}, "
                    f"{p.get('country_code')} at {p['lat']:.4f}, {p['lon']:.4f}"
                )
    return lines


def render_context(context: StageContext) -> str:
    """The run so far, as the stage prompt's ``$context``: clues, tool data, candidates, focus."""
    parts: list[str] = []
    if context.clues:
        parts.append("Clues so far:")
        parts.extend(
            f"- [{c.stage}/{c.kind}] {quote(c.value)} ({c.confidence:.2f}, {c.source})"
            for c in context.clues[-MAX_LINES:]
        )
    tools = _tool_lines(context)
    if tools:
        parts.append("Tool results:\n<data>\n" + "\n".join(tools[-MAX_LINES:]) + "\n</data>")
    if context.candidates:
        parts.append("Current candidates (best first):")
        parts.extend(
            f"- {quote(c.label)} [{c.level}, {c.country_code or '?'}] "
            f"at {c.lat:.4f}, {c.lon:.4f}, score {c.score:.2f}"
            for c in context.candidates[:8]
        )
    if context.focus:
        parts.append(f"Look again, because {context.focus}. Find evidence that separates them.")
    text = "\n".join(parts)
    if len(text) > MAX_CONTEXT_CHARS:
        text = text[:MAX_CONTEXT_CHARS] + "\n[… truncated]"
    return text or "No clues or tool results yet."


def _prefix(images: list[Path]) -> list[Message]:
    return [
        Message.text("system", template("system")),
        Message(role="user", content=[ImagePart(path=str(p)) for p in images]),
    ]


def stage_request(
    stage: Stage,
    images: list[Path],
    context: StageContext,
    *,
    max_tokens: int,
    temperature: float,
) -> ChatRequest:
    """The chat request for one stage: stable prefix, then the stage text, with its schema."""
    text = Template(template(stage)).safe_substitute(context=render_context(context))
    messages = _prefix(images)
    messages[-1] = Message(role="user", content=[*messages[-1].content, TextPart(text=text)])
    return ChatRequest(
        messages=messages,
        json_schema=stage_schema(stage),
        schema_name=f"gre_{stage}",
        max_tokens=max_tokens,
        temperature=temperature,
    )


def direct_request(images: list[Path], *, max_tokens: int, temperature: float) -> ChatRequest:
    """GRE's single-pass protocol: one user turn with the image and the question, free text out."""
    content = [*(ImagePart(path=str(p)) for p in images), TextPart(text=template("direct"))]
    return ChatRequest(
        messages=[Message(role="user", content=content)],
        max_tokens=max_tokens,
        temperature=temperature,
    )
