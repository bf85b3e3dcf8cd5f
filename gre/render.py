"""Terminal rendering of a run: the live reasoning, then the answer (rich, one injectable Console).

Text that came from a photo or a tool is always rendered as plain ``Text``,
never as markup, so a sign reading ``[red]...`` prints as it reads; control characters
(in a file name, a web page, a model's reply) are shown as escapes, never sent raw.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.status import Status
from rich.table import Table
from rich.text import Text

from gre.events import (
    CandidatesMade,
    Event,
    Failed,
    GenerationDone,
    LoopBack,
    NodeStart,
    Note,
    PhotoReady,
    Prepared,
    RunStart,
    StageDone,
    ToolDone,
    ToolStart,
    Warned,
)
from gre.records import Hypothesis, PlaceClaim, Prediction, Trace
from gre.textnorm import printable

MAX_CLUES_SHOWN = 8
MAX_HYPOTHESES_SHOWN = 5
MAX_CLAIMS_SHOWN = 3
MAX_GENERATION_LINES = 12


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _fmt_km(km: float | None) -> str:
    if km is None:
        return "?"
    if km < 1:
        return f"{km * 1000:.0f} m"
    return f"{km:,.1f} km" if km < 100 else f"{km:,.0f} km"


def _clip_left(text: str, width: int) -> str:
    """The end of ``text`` (a path's file name matters most), "…" in front when cut."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(printable(str(text)).split())
    return text if len(text) <= width else text[: width - 1] + "…"


class LiveRenderer:
    """Prints each event of a run as it happens; on a terminal, a spinner names the tool
    that is running (OCR can take seconds)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.position: tuple[int, int] | None = None
        """(i, n) of the photo in a batch, shown in its heading."""
        self._status: Status | None = None

    def __call__(self, event: Event) -> None:
        if not isinstance(event, ToolStart):
            self._stop()
        match event:
            case RunStart():
                mode = "tools only, no model" if event.backend == "none" else event.backend
                label = mode if event.backend == "none" else f"backend: {mode}"
                where = f"photo {self.position[0]}/{self.position[1]}  " if self.position else ""
                self.console.rule(Text(f"{where}{printable(event.path)}  ({label})", style="bold"))
            case ToolStart():
                self._spin(f"{event.tool} running …")
            case Prepared():
                self._line((f"{event.tool}: {event.note}", "dim"), indent=0)
            case PhotoReady():
                p = event.photo
                self._line(
                    (f"{p.width}x{p.height} {p.format}", "dim"),
                    (f", {p.bytes / 1024:.0f} KiB, sha256 {p.sha256[:12]}", "dim"),
                )
            case NodeStart():
                suffix = f" (pass {event.iteration + 1})" if event.iteration else ""
                self.console.print(Text(f"{event.node}{suffix}", style="bold cyan"))
            case Note():
                self._line(("· ", "dim"), (event.message, "yellow"))
            case Warned():
                self._line(("! ", "bold yellow"), (_clip(event.message, 200), "yellow"))
            case Failed():
                self._line(("✗ ", "bold red"), (event.message, "red"))
            case ToolDone():
                self._tool(event)
            case StageDone():
                self._stage(event)
            case CandidatesMade():
                self._candidates(event)
            case GenerationDone():
                self._generation(event)
            case LoopBack():
                self._line(
                    ("↺ ", "bold yellow"),
                    (f"back to {event.target}: ", "yellow"),
                    event.focus or "",
                )
            case _:
                pass

    def _spin(self, message: str) -> None:
        if not self.console.is_terminal:
            return
        if self._status is None:
            self._status = Status(message, console=self.console, spinner="dots")
            self._status.start()
        else:
            self._status.update(message)

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def close(self) -> None:
        """Stop the spinner (the run ended)."""
        self._stop()

    def _line(self, *parts: tuple[str, str] | str, indent: int = 2) -> None:
        text = Text(" " * indent)
        for part in parts:
            if isinstance(part, tuple):
                text.append(printable(part[0]), style=part[1])
            else:
                text.append(printable(part))
        self.console.print(text, overflow="ellipsis", no_wrap=True)

    def _tool(self, event: ToolDone) -> None:
        call = event.call
        if call.skipped:
            status, style, detail = "skipped", "yellow", call.error or ""
        elif call.ok:
            status, style, detail = "ok", "green", call.summary or ""
        else:
            status, style, detail = "failed", "red", call.error or ""
        query = str(call.params.get("mode") or "")
        by = event.evidence.requested_by
        asked = f" [{by}]" if by and by not in ("planner", "verify", "answer") else ""
        self._line(
            ("⚙ ", style),
            (f"{call.tool}{' ' + query if query else ''}{asked}", "bold"),
            (f" {status}", style),
            (f" {_fmt_ms(call.duration_ms)}  ", "dim"),
            _clip(detail, 200),
        )
        claims = event.evidence.claims
        for claim in claims[:MAX_CLAIMS_SHOWN]:
            self._line(("  ? ", "magenta"), _claim_text(claim), indent=2)
        if len(claims) > MAX_CLAIMS_SHOWN:
            self._line((f"    … {len(claims) - MAX_CLAIMS_SHOWN} more claims", "dim"))

    def _stage(self, event: StageDone) -> None:
        result = event.result
        if not result.ok:
            self._line(("✗ ", "red"), (f"stage failed: {result.error}", "red"))
        if result.summary:
            self._line(("· ", "dim"), (_clip(result.summary, 160), "dim"))
        for clue in result.clues[:MAX_CLUES_SHOWN]:
            self._line(
                ("• ", "blue"),
                (f"{clue.kind} ", "blue"),
                _clip(clue.value, 80),
                (f"  ({clue.confidence:.2f}, {clue.source})", "dim"),
            )
        if len(result.clues) > MAX_CLUES_SHOWN:
            self._line((f"  … {len(result.clues) - MAX_CLUES_SHOWN} more clues", "dim"))
        for h in result.hypotheses[:MAX_HYPOTHESES_SHOWN]:
            self._line(("? ", "magenta"), _hypothesis_text(h))
        if len(result.hypotheses) > MAX_HYPOTHESES_SHOWN:
            more = len(result.hypotheses) - MAX_HYPOTHESES_SHOWN
            self._line((f"  … {more} more hypotheses", "dim"))
        for r in result.tool_requests:
            self._line(("→ ", "cyan"), (f"asks {r.tool} ", "cyan"), _clip(r.why or "", 100))

    def _candidates(self, event: CandidatesMade) -> None:
        if not event.candidates:
            self._line(("· no new candidates", "dim"))
            return
        best = sorted(event.candidates, key=lambda c: -c.weight)[:4]
        self._line(
            ("◦ ", "green"),
            f"{len(event.candidates)} candidate(s): ",
            ", ".join(f"{c.label} ({c.weight:.2f})" for c in best),
        )

    def _generation(self, event: GenerationDone) -> None:
        gen = event.generation
        if not gen.ok:
            self._line(("✗ ", "red"), (f"model call failed: {gen.error}", "red"))
            return
        tokens = gen.usage.get("completion_tokens", "?")
        self._line(
            ("✎ ", "magenta"),
            (f"{gen.model or 'model'} ", "bold"),
            (f"{tokens} tokens, {_fmt_ms(gen.latency_ms)}", "dim"),
        )
        for line in gen.text.strip().splitlines()[:MAX_GENERATION_LINES]:
            self._line(("  │ ", "dim"), _clip(line, 200))


def _claim_text(c: PlaceClaim) -> str:
    where = f"{c.label} @ {c.lat:.4f}, {c.lon:.4f}"
    cc = f" ({c.country})" if c.country and c.level != "country" else ""
    return _clip(f"{c.level}: {where}{cc}  weight {c.weight:.2f}", 110)


def _hypothesis_text(h: Hypothesis) -> str:
    where = h.name or h.country_code or ""
    if h.lat is not None and h.lon is not None:
        where += f" @ {h.lat:.4f}, {h.lon:.4f}"
    cc = f" ({h.country_code})" if h.country_code and h.name else ""
    return _clip(f"{h.level}: {where}{cc}  conf {h.confidence:.2f}", 110)


def render_prediction(console: Console, trace: Trace) -> None:
    """The answer panel and the ranked alternatives."""
    pred = trace.prediction
    if trace.error and trace.photo is None:
        return
    console.print(Panel(_answer_text(pred), title="answer", title_align="left", expand=False))
    if pred.alternatives:
        table = Table(
            title="alternatives",
            title_justify="left",
            show_edge=False,
            caption="score: the confidence each would have as the answer",
            caption_justify="left",
        )
        for col in ("#", "place", "level", "lat, lon", "radius", "score"):
            table.add_column(col, justify="right" if col in ("#", "radius", "score") else "left")
        for i, alt in enumerate(pred.alternatives, start=1):
            table.add_row(
                str(i),
                Text(printable(alt.label)),
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
        text.append(f"\n{printable(pred.reason)}", style="dim")
        return text
    text.append(f"{pred.lat:.5f}, {pred.lon:.5f}", style="bold green")
    text.append(f"  ± {_fmt_km(pred.radius_km)}", style="green")
    text.append(f"   level: {pred.level}", style="bold")
    text.append(f"   confidence {pred.confidence:.2f}\n")
    text.append(printable(pred.label), style="bold")
    if pred.country_code and pred.level != "country":
        text.append(f"  [{pred.country_code}]")
    if pred.nearest_place:
        np = pred.nearest_place
        text.append(
            printable(
                f"\nnearest named place: {np.name}"
                f"{', ' + np.admin1 if np.admin1 else ''}"
                f"{' (' + np.country_code + ')' if np.country_code else ''}, "
                f"{np.distance_km:.1f} km"
            ),
        )
    text.append(f"\nwhy: {printable(pred.reason)}", style="dim")
    return text


NO_MODEL_NOTICE = (
    "No model configured: this answer comes from the tools alone (EXIF, OCR, text clues, "
    "gazetteer). Scene reasoning (architecture, vegetation, terrain, road furniture) needs a "
    "vision-language model: serve GRE or a Qwen2.5-VL model and set GRE_BACKEND, GRE_MODEL_URL "
    "and GRE_MODEL (README, section 'Models')."
)


def render_summary(console: Console, traces: list[Trace], width: int = 40) -> None:
    """One row per photo of a batch: photo, answer, level, radius, confidence, time."""
    table = Table(title=f"{len(traces)} photos", title_justify="left", show_edge=False)
    for col in ("#", "photo", "answer", "level", "radius", "conf.", "time"):
        table.add_column(
            col, justify="right" if col in ("#", "radius", "conf.", "time") else "left"
        )
    for i, trace in enumerate(traces, start=1):
        pred = trace.prediction
        photo = trace.photo.path if trace.photo else (trace.input_path or "?")
        if trace.error:
            answer, level, radius, conf = Text("error", style="red"), "—", "—", "—"
        elif pred.abstained or pred.lat is None:
            answer, level, radius, conf = Text("unknown", style="yellow"), "—", "—", "—"
        else:
            answer = Text(_clip(pred.label, width))
            level, radius, conf = pred.level, _fmt_km(pred.radius_km), f"{pred.confidence:.2f}"
        table.add_row(
            str(i),
            Text(_clip_left(printable(str(photo)), width)),
            answer,
            level,
            radius,
            conf,
            _fmt_ms(trace.duration_ms),
        )
    console.print(table)


def printable_answer(trace: Trace) -> str:
    """One line for a photo: its path, then its answer, abstention or error, and its time."""
    pred = trace.prediction
    photo = printable(trace.photo.path if trace.photo else (trace.input_path or "?"))
    if trace.error:
        what = "error"
    elif pred.abstained or pred.lat is None or pred.lon is None:
        what = "unknown"
    else:
        what = f"{printable(pred.label)} ({pred.level}, ± {_fmt_km(pred.radius_km)}, "
        what += f"{pred.confidence:.2f})"
    return f"{photo}: {what}, {_fmt_ms(trace.duration_ms)}"
