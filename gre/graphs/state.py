"""The graph state: a TypedDict of JSON-native values with reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

Record = dict[str, Any]


def merge_by_id(old: list[Record], new: list[Record]) -> list[Record]:
    """Append records, replacing any earlier record with the same ``id`` in place."""
    merged = list(old)
    index = {rec["id"]: i for i, rec in enumerate(merged)}
    for rec in new:
        if rec["id"] in index:
            merged[index[rec["id"]]] = rec
        else:
            index[rec["id"]] = len(merged)
            merged.append(rec)
    return merged


class AgentState(TypedDict, total=False):
    """One photo's run. Lists of records only grow (or are updated by id)."""

    input_path: str
    options: dict[str, Any]
    photo: Record
    error: str | None
    step: int
    iteration: int
    loop: Record | None
    verified: Annotated[list[str], operator.add]
    claimed: Annotated[list[str], operator.add]
    stages: Annotated[list[Record], operator.add]
    generations: Annotated[list[Record], operator.add]
    clues: Annotated[list[Record], operator.add]
    hypotheses: Annotated[list[Record], operator.add]
    evidence: Annotated[list[Record], merge_by_id]
    candidates: Annotated[list[Record], merge_by_id]
    tool_calls: Annotated[list[Record], operator.add]
    timings: Annotated[list[Record], operator.add]
    warnings: Annotated[list[str], operator.add]
    prediction: Record | None
