"""Terminal rendering of a run: the live reasoning, then the answer (rich, one injectable Console).

Text that came from a photo or a tool is always rendered as plain ``Text``,
never as markup, so a sign reading ``[red]...`` prints as it reads.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gre.records import Prediction, Trace

MAX_CLUES_SHOWN = 8
MAX_HYPOTHESES_SHOWN = 5
MAX_GENERATION_LINES = 12


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _fmt_km(km: float | None) -> str:
    if km is None:
        return "?"
    if km < 1:
        return f"{km * 1000:.0f} m"
    return f"{km:,.1f} km" if km < 100 else f"{km:,.0f} km"


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


class LiveRenderer:
    """Prints each event of a run as it happens."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{event.get('event')}", None)
        if handler is not None:
            handler(event)

    def _line(self, *parts: tuple[str, str] | str, indent: int = 2) -> None:
        text = Text(" " * indent)
        for part in parts:
            if isinstance(part, tuple):
                text.append(part[0], style=part[1])
            else:
                text.append(part)
        self.console.print(text, overflow="ellipsis", no_wrap=True)

    def _on_run_start(self, event: dict[str, Any]) -> None:
        backend = event["backend"]
        mode = "tools only, no model" if backend == "none" else f"backend: {backend}"
        self.console.rule(Text(f"{event['path']}  ({mode})", style="bold"))

    def _on_prepare(self, event: dict[str, Any]) -> None:
        self._line((f"{event['tool']}: {event['note']}", "dim"), indent=0)

    def _on_photo(self, event: dict[str, Any]) -> None:
        p = event["photo"]
        self._line(
            (f"{p['width']}x{p['height']} {p['format']}", "dim"),
            (f", {p['bytes'] / 1024:.0f} KiB, sha256 {p['sha256'][:12]}", "dim"),
        )

    def _on_node_start(self, event: dict[str, Any]) -> None:
        it = event.get("iteration") or 0
        suffix = f" (pass {it + 1})" if it else ""
        self.console.print(Text(f"{event['node']}{suffix}", style="bold cyan"))

    def _on_note(self, event: dict[str, Any]) -> None:
        self._line(("· ", "dim"), (event["message"], "yellow"))

    def _on_warning(self, event: dict[str, Any]) -> None:
        self._line(("! ", "bold yellow"), (_clip(event["message"], 200), "yellow"))

    def _on_error(self, event: dict[str, Any]) -> None:
        self._line(("✗ ", "bold red"), (event["message"], "red"))

    def _on_tool(self, event: dict[str, Any]) -> None:
        call = event["call"]
        if call["skipped"]:
            status, style, detail = "skipped", "yellow", call.get("error") or ""
        elif call["ok"]:
            status, style, detail = "ok", "green", call.get("summary") or ""
        else:
            status, style, detail = "failed", "red", call.get("error") or ""
        query = call["params"].get("mode") or ""
        self._line(
            ("⚙ ", style),
            (f"{call['tool']}{' ' + query if query else ''}", "bold"),
            (f" {status}", style),
            (f" {_fmt_ms(call['duration_ms'])}  ", "dim"),
            _clip(detail, 200),
        )

    def _on_hypothesis(self, event: dict[str, Any]) -> None:
        h = event["hypothesis"]
        self._line(("? ", "magenta"), _hypothesis_text(h))

    def _on_stage(self, event: dict[str, Any]) -> None:
        result = event["result"]
        if not result["ok"]:
            self._line(("✗ ", "red"), (f"stage failed: {result.get('error')}", "red"))
        if result.get("summary"):
            self._line(("· ", "dim"), (_clip(result["summary"], 160), "dim"))
        clues = result.get("clues", [])
        for clue in clues[:MAX_CLUES_SHOWN]:
            self._line(
                ("• ", "blue"),
                (f"{clue['kind']} ", "blue"),
                _clip(clue["value"], 80),
                (f"  ({clue['confidence']:.2f}, {clue['source']})", "dim"),
            )
        if len(clues) > MAX_CLUES_SHOWN:
            self._line((f"  … {len(clues) - MAX_CLUES_SHOWN} more clues", "dim"))
        hyps = result.get("hypotheses", [])
        for h in hyps[:MAX_HYPOTHESES_SHOWN]:
            self._line(("? ", "magenta"), _hypothesis_text(h))
        if len(hyps) > MAX_HYPOTHESES_SHOWN:
            self._line((f"  … {len(hyps) - MAX_HYPOTHESES_SHOWN} more hypotheses", "dim"))

    def _on_candidates(self, event: dict[str, Any]) -> None:
        cands = event["candidates"]
        if not cands:
            self._line(("· no new candidates", "dim"))
            return
        best = sorted(cands, key=lambda c: -c["weight"])[:4]
        self._line(
            ("◦ ", "green"),
            f"{len(cands)} candidate(s): ",
            ", ".join(f"{c['label']} ({c['weight']:.2f})" for c in best),
        )

    def _on_generation(self, event: dict[str, Any]) -> None:
        gen = event["generation"]
        if not gen["ok"]:
            self._line(("✗ ", "red"), (f"model call failed: {gen.get('error')}", "red"))
            return
        usage = gen.get("usage") or {}
        self._line(
            ("✎ ", "magenta"),
            (f"{gen.get('model') or 'model'} ", "bold"),
            (f"{usage.get('completion_tokens', '?')} tokens, {_fmt_ms(gen['latency_ms'])}", "dim"),
        )
        for line in str(gen["text"]).strip().splitlines()[:MAX_GENERATION_LINES]:
            self._line(("  │ ", "dim"), _clip(line, 200))

    def _on_loop(self, event: dict[str, Any]) -> None:
        self._line(
            ("↺ ", "bold yellow"), (f"back to {event['target']}: ", "yellow"), event["focus"] or ""
        )


def _hypothesis_text(h: dict[str, Any]) -> str:
    where = h.get("name") or h.get("country_code") or ""
    if h.get("lat") is not None:
        where += f" @ {h['lat']:.4f}, {h['lon']:.4f}"
    cc = f" ({h['country_code']})" if h.get("country_code") and h.get("name") else ""
    return _clip(f"{h['level']}: {where}{cc}  conf {h['confidence']:.2f}", 110)


def render_prediction(console: Console, trace: Trace) -> None:
    """The answer panel and the ranked alternatives."""
    pred = trace.prediction
    if trace.error and trace.photo is None:
        return
    console.print(Panel(_answer_text(pred), title="answer", title_align="left", expand=False))
    if pred.alternatives:
        table = Table(title="alternatives", title_justify="left", show_edge=False)
        for col in ("#", "place", "level", "lat, lon", "radius", "score"):
            table.add_column(col, justify="right" if col in ("#", "radius", "score") else "left")
        for i, alt in enumerate(pred.alternatives, start=1):
            table.add_row(
                str(i),
                Text(alt.label),
                alt.level,
                f"{alt.lat:.4f}, {alt.lon:.4f}",
                _fmt_km(alt.radius_km),
                f"{alt.score:.2f}",
            )
        console.print(table)
    calls = trace.tool_calls
    total_tool_ms = sum(c.duration_ms for c in calls)
    console.print(
        Text(
            f"{trace.steps} stage steps, {len(calls)} tool calls ({_fmt_ms(total_tool_ms)}), "
            f"{_fmt_ms(trace.duration_ms)} total",
            style="dim",
        )
    )


def _answer_text(pred: Prediction) -> Text:
    text = Text()
    if pred.abstained or pred.lat is None or pred.lon is None:
        text.append("unknown", style="bold red")
        text.append(f"\n{pred.reason}", style="dim")
        return text
    text.append(f"{pred.lat:.5f}, {pred.lon:.5f}", style="bold green")
    text.append(f"  ± {_fmt_km(pred.radius_km)}", style="green")
    text.append(f"   level: {pred.level}", style="bold")
    text.append(f"   confidence {pred.confidence:.2f}\n")
    text.append(pred.label, style="bold")
    if pred.country_code and pred.level != "country":
        text.append(f"  [{pred.country_code}]")
    if pred.nearest_place:
        np = pred.nearest_place
        text.append(
            f"\nnearest named place: {np.name}"
            f"{', ' + np.admin1 if np.admin1 else ''}"
            f"{' (' + np.country_code + ')' if np.country_code else ''}, {np.distance_km:.1f} km",
        )
    text.append(f"\nwhy: {pred.reason}", style="dim")
    return text


NO_MODEL_NOTICE = (
    "No model configured: this answer comes from the tools alone (EXIF, OCR, text clues, "
    "gazetteer). Scene reasoning (architecture, vegetation, terrain, road furniture) needs a "
    "vision-language model: serve GRE or a Qwen2.5-VL model and set GRE_BACKEND, GRE_MODEL_URL "
    "and GRE_MODEL (README, section 'Models')."
)
