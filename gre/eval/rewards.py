"""GRE's GRPO rewards for training on the ``<think>…</think><answer>…</answer>`` protocol.

* Format reward: 1.0 when a completion is exactly one non-empty think block
  then one non-empty answer block (:func:`gre.agent.answer.has_think_answer_format`).
* Geo reward: 2 / (1 + e^(d/θ)) for a great-circle error of d km (R = 6371),
  θ = 25 km by default: 1.0 at 0 km, 2/(1+e) ≈ 0.538 at θ, → 0 far away.
  Computed in a form that never overflows. An unparseable answer scores 0.

Coordinates are read with :func:`gre.agent.answer.parse_coordinates`, the
parser GRE's direct graph uses: labels decide which number is the latitude,
unlabelled pairs are latitude first, nothing is swapped or clamped. (GRE's
released reward code takes the first number as the latitude whatever its label,
so ``"Longitude": x, "Latitude": y`` is scored as the swapped point.)

The batch functions follow TRL's reward-function convention
(``f(completions, **columns) -> list[float]``); completions may be strings or
chat message lists, whose last message's text is scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gre.agent.answer import AnswerParseError, has_think_answer_format, parse_coordinates
from gre.geo import haversine_km, valid_latlon

__all__ = [
    "DEFAULT_THETA_KM",
    "Completion",
    "Solution",
    "completion_text",
    "distance_reward",
    "format_reward",
    "format_rewards",
    "geo_reward",
    "geo_rewards",
    "parse_solution",
    "rewards",
]

DEFAULT_THETA_KM = 25.0

Completion = str | Sequence[Mapping[str, Any]]
"""A completion: plain text, or chat messages (``[{"role": "assistant", "content": …}]``)."""

Solution = tuple[float, float] | Sequence[float] | str
"""The truth: ``(lat, lon)``, or GRE's dataset form ``<answer> [lat, lon] </answer>``."""


def distance_reward(distance_km: float, theta_km: float = DEFAULT_THETA_KM) -> float:
    """2 / (1 + e^(d/θ)), in (0, 1]; evaluated as 2·e^(−x) / (1 + e^(−x)) for x > 0.

    ``d = inf`` gives 0.0; a negative or NaN distance, or θ <= 0, is a ValueError.
    """
    if not theta_km > 0 or not math.isfinite(theta_km):
        raise ValueError(f"theta_km must be a positive number, got {theta_km}")
    if math.isnan(distance_km) or distance_km < 0:
        raise ValueError(f"distance must be >= 0 km, got {distance_km}")
    x = distance_km / theta_km
    if x > 0:
        z = math.exp(-x)  # in [0, 1): no overflow, underflows cleanly to 0
        return 2.0 * z / (1.0 + z)
    return 1.0


def format_reward(text: str) -> float:
    """1.0 for exactly ``<think>…</think><answer>…</answer>`` (both non-empty), else 0.0."""
    return 1.0 if has_think_answer_format(text) else 0.0


def geo_reward(
    text: str, lat_true: float, lon_true: float, theta_km: float = DEFAULT_THETA_KM
) -> float:
    """The distance reward of the point in ``text`` (its last ``<answer>``); 0.0 if unparseable."""
    try:
        parsed = parse_coordinates(text)
    except AnswerParseError:
        return 0.0
    return distance_reward(haversine_km(parsed.lat, parsed.lon, lat_true, lon_true), theta_km)


def parse_solution(solution: Solution) -> tuple[float, float]:
    """``(lat, lon)`` from a tuple/list or from GRE's ``<answer> [lat, lon] </answer>`` string.

    Raises ValueError for a solution that holds no valid point (a data error,
    not the model's).
    """
    if isinstance(solution, str):
        try:
            parsed = parse_coordinates(solution)
        except AnswerParseError as exc:
            raise ValueError(f"bad solution {solution[:60]!r}: {exc}") from None
        return parsed.lat, parsed.lon
    if len(solution) != 2:
        raise ValueError(f"a solution is (lat, lon), got {len(solution)} values")
    lat, lon = float(solution[0]), float(solution[1])
    if not valid_latlon(lat, lon):
        raise ValueError(f"solution out of range: {lat}, {lon}")
    return lat, lon


def completion_text(completion: Completion) -> str:
    """The text to score: the string itself, or the last message's text content."""
    if isinstance(completion, str):
        return completion
    if not completion:
        return ""
    content = completion[-1].get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):  # multimodal content parts
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        )
    return str(content)


def format_rewards(completions: Sequence[Completion], **_: Any) -> list[float]:
    """TRL-style batch format reward."""
    return [format_reward(completion_text(c)) for c in completions]


def geo_rewards(
    completions: Sequence[Completion],
    solution: Sequence[Solution],
    *,
    theta_km: float = DEFAULT_THETA_KM,
    **_: Any,
) -> list[float]:
    """TRL-style batch geo reward; ``solution`` is the dataset column of truths."""
    if len(completions) != len(solution):
        raise ValueError(f"{len(completions)} completions but {len(solution)} solutions")
    return [
        geo_reward(completion_text(c), *parse_solution(s), theta_km=theta_km)
        for c, s in zip(completions, solution, strict=True)
    ]


def rewards(
    completions: Sequence[Completion],
    solutions: Sequence[Solution],
    *,
    theta_km: float = DEFAULT_THETA_KM,
    format_weight: float = 1.0,
    geo_weight: float = 1.0,
) -> list[float]:
    """Per completion, ``format_weight``·format reward + ``geo_weight``·geo reward.

    The geo reward does not require the format. With TRL, pass
    :func:`format_rewards` and :func:`geo_rewards` as two reward functions
    instead (it sums them, weight 1 each unless ``reward_weights`` says otherwise).
    """
    geo = geo_rewards(completions, solutions, theta_km=theta_km)
    fmt = format_rewards(completions)
    return [format_weight * f + geo_weight * g for f, g in zip(fmt, geo, strict=True)]
