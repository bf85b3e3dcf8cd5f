"""``gre report`` in the terminal: each table fitted to the console's width.

Headers abbreviated first, then free text wrapped, then the table split by columns,
then one block per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gre.eval.report_data import Report
from gre.eval.report_tables import METHOD_NOTE, TableSpec, table_specs

# --- the terminal: each table fitted to the console's width ------------------------------------

WRAP_MIN = 12
"""The narrowest a free-text column is made in the terminal before a table is split."""


def _rich_table(
    spec: TableSpec,
    *,
    compact: bool = False,
    cols: Sequence[int] | None = None,
    title: str = "",
    caption: bool = True,
) -> Table:
    """``spec`` (or its columns ``cols``) as a rich table.

    Compact: narrow headers, no borders, each difference on its own line. Free-text
    columns fold their words rather than cut them.
    """
    chosen = list(cols) if cols is not None else list(range(len(spec.columns)))
    names = spec.short if compact and spec.short else spec.columns
    style: dict[str, Any] = (
        {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False, "collapse_padding": True}
        if compact
        else {}
    )
    table = Table(
        title=title or spec.title,
        caption=spec.caption if caption and spec.caption else None,
        title_justify="left",
        caption_justify="left",
        **style,
    )
    for i in chosen:
        left = i < spec.text_columns or i in spec.left
        wraps = i in spec.wrap
        table.add_column(
            names[i],
            justify="left" if left else "right",
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
        )
    for n, row in enumerate(spec.rows):
        cells = []
        for i in chosen:
            cell = row[i]
            text = Text(cell.text)
            if cell.delta:
                style_ = {True: "green", False: "red", None: "dim"}[cell.better]
                text.append(f"\n{cell.delta}" if compact else f" {cell.delta}", style=style_)
            cells.append(text)
        table.add_row(*cells, end_section=n in spec.section_ends)
    return table


def _width(console: Console, table: Table, *, cap: bool = True) -> int:
    """How wide ``table`` prints unwrapped; with ``cap``, its free text at :data:`WRAP_MIN`."""
    wrapping = [c for c in table.columns if not c.no_wrap] if cap else []
    for column in wrapping:
        column.max_width = WRAP_MIN
    try:
        return Measurement.get(console, console.options.update_width(1 << 16), table).maximum
    finally:
        for column in wrapping:
            column.max_width = None


def _groups(spec: TableSpec, fits: Callable[[list[int]], bool]) -> list[list[int]] | None:
    """The non-naming columns in consecutive groups that fit beside the naming ones."""
    keys = list(range(spec.text_columns))
    rest = list(range(spec.text_columns, len(spec.columns)))
    if not rest:
        return None
    cuts = sorted(i for i in spec.breaks if rest[0] < i <= rest[-1])
    bounds = [rest[0], *cuts, len(spec.columns)]
    segments = [list(range(lo, hi)) for lo, hi in itertools.pairwise(bounds)]
    groups: list[list[int]] = []
    for segment in segments:
        if groups and fits(keys + groups[-1] + segment):
            groups[-1] += segment
        elif fits(keys + segment):
            groups.append(segment)
        else:
            for i in segment:
                if groups and fits([*keys, *groups[-1], i]):
                    groups[-1].append(i)
                elif fits([*keys, i]):
                    groups.append([i])
                else:
                    return None
    return [keys + g for g in groups] or None


def _stacked(spec: TableSpec, width: int) -> Text:
    """The table as one block per row: its name, then ``header value`` pairs packed in lines."""
    out = Text()
    out.append(spec.title + "\n", style="italic")
    for row in spec.rows:
        name = "  ".join(c.text for c in row[: spec.text_columns] if c.text)
        out.append(name + "\n", style="bold")
        line = ""
        named = zip(spec.columns, row, strict=True)
        for header, cell in list(named)[spec.text_columns :]:
            item = f"{header} {cell.text}" + (f" ({cell.delta})" if cell.delta else "")
            if line and len(line) + 2 + len(item) > width:
                out.append(line + "\n")
                line = ""
            line = f"{line}  {item}" if line else f"  {item}"
        if line:
            out.append(line + "\n")
    if spec.caption:
        out.append(spec.caption + "\n", style="dim")
    return out


def fitted(console: Console, spec: TableSpec) -> list[Table | Text]:
    """``spec`` as it fits the console: whole, compact, its free text wrapped, split by
    columns, else stacked."""
    width = console.width
    for cap in (False, True):
        for compact in (False, True):
            table = _rich_table(spec, compact=compact)
            if _width(console, table, cap=cap) <= width:
                return [table]

    def fits(cols: list[int]) -> bool:
        return _width(console, _rich_table(spec, compact=True, cols=cols)) <= width

    groups = _groups(spec, fits)
    if groups is None or len(groups) == 1:
        return [_stacked(spec, width)]
    parts: list[Table | Text] = []
    for n, cols in enumerate(groups, start=1):
        title = f"{spec.title} ({n}/{len(groups)})"
        last = n == len(groups)
        parts.append(_rich_table(spec, compact=True, cols=cols, title=title, caption=last))
    return parts


def render(console: Console, report: Report) -> None:
    """The report's tables and warnings, printed to ``console`` within its width."""
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    for spec in table_specs(report):
        for part in fitted(console, spec):
            console.print(part)
    console.print(Text(METHOD_NOTE, style="dim"))
