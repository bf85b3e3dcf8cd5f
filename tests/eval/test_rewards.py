"""GRE's GRPO rewards against hand-computed values; latitude-first parsing, no overflow."""

from __future__ import annotations

import math

import pytest

from gre.eval.rewards import (
    completion_text,
    distance_reward,
    format_reward,
    format_rewards,
    geo_reward,
    geo_rewards,
    parse_solution,
    rewards,
)
from gre.geo import haversine_km

TRUTH = (40.756624, -73.960998)  # GRE's example solution: Manhattan, east side
SOLUTION = "<answer> [40.756624, -73.960998] </answer>"
# GRE's example completion labels the longitude first.
GRE_EXAMPLE = (
    "<think>Yellow cabs, a Midtown avenue grid, a Con Edison steam pipe.</think>"
    '<answer>{"Longitude" : -73.992210, "Latitude" : 40.749602}</answer>'
)


# --- the distance reward -----------------------------------------------------------------------


def test_distance_reward_hand_values() -> None:
    assert distance_reward(0.0) == 1.0
    # θ = 25 km, d = 25 km: 2 / (1 + e) = 0.53788...
    assert distance_reward(25.0) == pytest.approx(2 / (1 + math.e), rel=1e-12)
    assert round(distance_reward(25.0), 3) == 0.538
    # d = 50 km: 2 / (1 + e²) = 0.23841
    assert distance_reward(50.0) == pytest.approx(0.238405844, abs=1e-9)
    # another θ: d = θ = 100 km
    assert distance_reward(100.0, theta_km=100.0) == pytest.approx(0.537882843, abs=1e-9)
    # d = 25·ln 3 km: e^x = 3, reward 2/4
    assert distance_reward(25.0 * math.log(3)) == pytest.approx(0.5, abs=1e-12)


def test_distance_reward_never_overflows() -> None:
    with pytest.raises(OverflowError):
        2 / (1 + math.exp(1e6 / 25))  # the naive formula
    far = distance_reward(1e6)
    assert far == 0.0 or 0.0 < far < 1e-300
    assert distance_reward(20015.087) < 1e-300  # the farthest point on Earth
    assert distance_reward(math.inf) == 0.0
    assert distance_reward(1e-300) == 1.0
    assert distance_reward(1000.0) == pytest.approx(2 * math.exp(-40), rel=1e-12)


def test_distance_reward_decreases_with_distance() -> None:
    values = [distance_reward(d) for d in (0, 0.1, 1, 5, 25, 100, 500, 5000)]
    assert values == sorted(values, reverse=True)
    assert all(0.0 <= v <= 1.0 for v in values)


@pytest.mark.parametrize(
    ("d", "theta"), [(-1.0, 25.0), (math.nan, 25.0), (1.0, 0.0), (1.0, -5.0), (1.0, math.inf)]
)
def test_distance_reward_rejects_bad_input(d: float, theta: float) -> None:
    with pytest.raises(ValueError):
        distance_reward(d, theta)


# --- the format reward -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>a</think><answer>1, 2</answer>", 1.0),
        ("  <think>\na\n</think>\n<answer> 1, 2 </answer>\n", 1.0),
        (GRE_EXAMPLE, 1.0),
        ("<answer>1, 2</answer>", 0.0),  # no think
        ("<think>a</think>", 0.0),  # no answer
        ("<think>a</think><answer></answer>", 0.0),  # empty answer
        ("<think></think><answer>1, 2</answer>", 0.0),  # empty think
        ("<think>a</think><answer>1, 2</answer> trailing", 0.0),
        ("<answer>1, 2</answer><think>a</think>", 0.0),  # wrong order
        ("<think>a</think><answer>1</answer><answer>2</answer>", 0.0),
        ("<THINK>a</THINK><ANSWER>1, 2</ANSWER>", 0.0),  # as prompted: lowercase
    ],
)
def test_format_reward(text: str, expected: float) -> None:
    assert format_reward(text) == expected


# --- the geo reward ----------------------------------------------------------------------------


def test_gre_example_is_read_latitude_by_label_not_by_position() -> None:
    d = haversine_km(40.749602, -73.992210, *TRUTH)
    assert d == pytest.approx(2.74, abs=0.01)
    reward = geo_reward(GRE_EXAMPLE, *TRUTH)
    assert reward == pytest.approx(distance_reward(d))
    assert reward == pytest.approx(0.9452, abs=1e-4)
    # reading the first number as the latitude puts the guess in Antarctica, 15 082 km off
    swapped = haversine_km(-73.992210, 40.749602, *TRUTH)
    assert swapped == pytest.approx(15081.5, abs=0.1)
    assert distance_reward(swapped) < 1e-200


@pytest.mark.parametrize(
    "answer",
    [
        "[40.756624, -73.960998]",
        "40.756624, -73.960998",
        "Latitude: 40.756624, Longitude: -73.960998",
        "Longitude: -73.960998, Latitude: 40.756624",
        "40.756624° N, 73.960998° W",
    ],
)
def test_geo_reward_exact_answer(answer: str) -> None:
    assert geo_reward(f"<think>x</think><answer>{answer}</answer>", *TRUTH) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text",
    [
        "<think>x</think><answer>somewhere in Manhattan</answer>",
        "<think>x</think><answer>[-173.96, 40.75]</answer>",  # latitude out of range: no swap
        "<think>x</think><answer>nan, nan</answer>",
        "",
    ],
)
def test_geo_reward_is_zero_when_unparseable(text: str) -> None:
    assert geo_reward(text, *TRUTH) == 0.0


def test_geo_reward_does_not_need_the_format() -> None:
    assert format_reward("40.756624, -73.960998") == 0.0
    assert geo_reward("40.756624, -73.960998", *TRUTH) == pytest.approx(1.0)


def test_geo_reward_across_the_date_line() -> None:
    # 0.5° either side of the antimeridian on the equator: 111.19 km apart
    reward = geo_reward("<answer>0, 179.5</answer>", 0.0, -179.5)
    assert reward == pytest.approx(distance_reward(111.19492664), rel=1e-9)


# --- solutions and batches ---------------------------------------------------------------------


def test_parse_solution() -> None:
    assert parse_solution(SOLUTION) == TRUTH
    assert parse_solution(TRUTH) == TRUTH
    assert parse_solution([40.756624, -73.960998]) == TRUTH
    for bad in ("<answer>nowhere</answer>", (91.0, 0.0), (1.0, 2.0, 3.0)):
        with pytest.raises(ValueError):
            parse_solution(bad)


def test_batch_rewards_accept_both_solution_forms() -> None:
    completions = [
        GRE_EXAMPLE,
        "<think>x</think><answer>[40.756624, -73.960998]</answer>",
        "no format, no answer",
    ]
    by_string = rewards(completions, [SOLUTION] * 3)
    by_tuple = rewards(completions, [TRUTH] * 3)
    assert by_string == by_tuple
    assert by_string[0] == pytest.approx(1.0 + 0.9452, abs=1e-4)
    assert by_string[1] == pytest.approx(2.0)
    assert by_string[2] == 0.0
    weighted = rewards(completions, [TRUTH] * 3, format_weight=0.5, geo_weight=2.0)
    assert weighted[1] == pytest.approx(2.5)
    wide = rewards(completions[:1], [TRUTH], theta_km=1000.0, format_weight=0.0)
    assert wide[0] == pytest.approx(distance_reward(2.7426, 1000.0), abs=1e-4)


def test_trl_style_functions_take_columns_as_keywords() -> None:
    chat = [[{"role": "assistant", "content": GRE_EXAMPLE}]]
    parts = [
        [
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "<think>x</think>"},
                    {"type": "text", "text": "<answer>40.756624, -73.960998</answer>"},
                ],
            }
        ]
    ]
    assert format_rewards(chat, prompts=["p"], solution=[SOLUTION]) == [1.0]
    assert geo_rewards(chat, solution=[SOLUTION], prompts=["p"]) == [
        pytest.approx(0.9452, abs=1e-4)
    ]
    assert geo_rewards(parts, solution=[TRUTH]) == [pytest.approx(1.0)]
    assert completion_text([]) == ""


def test_batch_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 completions but 1 solutions"):
        rewards(["a", "b"], [TRUTH])
