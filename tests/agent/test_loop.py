"""The loop decision, a pure function of the facts converge gathers."""

from __future__ import annotations

from typing import Any

import pytest

from gre.agent.converge import fuse
from gre.agent.loop import Decision, LoopFacts, decide
from gre.records import Candidate


def _facts(**kw: Any) -> LoopFacts:
    base: dict[str, Any] = {
        "answer_label": "Lima",
        "answer_level": "city",
        "answer_score": 0.5,
        "rival_label": "Manila",
        "rival_level": "city",
        "rival_score": 0.5,
        "steps_left": 5,
    }
    return LoopFacts.model_validate({**base, **kw})


def test_agreement_answers_at_once() -> None:
    assert decide(_facts(rival_label=None, rival_level=None)) == Decision(route="answer")


def test_a_re_read_comes_first_while_text_was_read() -> None:
    d = decide(_facts(can_reread=True))
    assert d.route == "details" and d.focus and "Lima (0.50) vs Manila (0.50)" in d.focus
    assert decide(_facts(can_reread=True, steps_left=1)).route == "semantic"  # costs two steps


def test_nothing_located_reads_again_or_gives_up() -> None:
    nothing = {"answer_label": None, "answer_level": None, "rival_label": None}
    d = decide(_facts(can_reread=True, **nothing))
    assert d.route == "details" and d.focus == "no location evidence yet: read more text"
    assert decide(_facts(**nothing)).route == "answer"


def test_rival_countries_go_back_to_the_scene_for_backends_with_eyes() -> None:
    countries = {"answer_level": "country", "rival_level": "country"}
    assert decide(_facts(**countries)).route == "scene"
    assert decide(_facts(sees_pixels=False, **countries)).route == "semantic"
    assert decide(_facts(scene_runs=2, **countries)).route == "semantic"
    assert decide(_facts(steps_left=2, **countries)).route == "semantic"


@pytest.mark.parametrize("steps_left", [0, -1])
def test_the_budget_ends_the_run(steps_left: int) -> None:
    assert decide(_facts(steps_left=steps_left)).route == "answer"


def test_a_backend_that_cannot_refine_stops() -> None:
    assert decide(_facts(refines=False)).route == "answer"


def test_facts_of_a_fusion() -> None:
    def cand(cid: str, label: str, lat: float, lon: float) -> Candidate:
        return Candidate(
            id=cid, lat=lat, lon=lon, radius_km=8, level="city", label=label, weight=0.5
        )

    fusion = fuse([cand("c1", "Lima", -12.05, -77.04), cand("c2", "Manila", 14.6, 120.98)])
    facts = LoopFacts.of(fusion, steps_left=3)
    assert {facts.answer_label, facts.rival_label} == {"Lima", "Manila"}
    assert decide(facts).route == "semantic"
    assert LoopFacts.of(fuse([])).answer_label is None
