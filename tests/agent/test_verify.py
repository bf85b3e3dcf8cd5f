"""Verification: claims become candidates, hypotheses are grounded, checks weigh candidates."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from gre.agent.verify import Ids, checked, checks_candidates, claimed, ground, merge_repeats
from gre.records import Candidate, Evidence, Hypothesis, PlaceClaim, ToolRequest
from gre.tools.base import ToolOutput


def _claim(label: str, weight: float, **kw: Any) -> PlaceClaim:
    fields = {"lat": 48.58, "lon": 7.75, "radius_km": 8.0, "level": "city", "label": label}
    return PlaceClaim.model_validate({**fields, "weight": weight, **kw})


class FakeRecorder:
    """Answers requests from a table of claims per (tool, mode); records links."""

    def __init__(self, claims: dict[tuple[str, str], list[PlaceClaim]]) -> None:
        self.claims = claims
        self.requests: list[tuple[ToolRequest, str | None]] = []
        self.links: dict[str, dict[str, set[str]]] = {}

    def request(
        self, request: ToolRequest, *, by: str, about: str | None = None, refuse: str | None = None
    ) -> tuple[BaseModel | None, Evidence]:
        self.requests.append((request, about))
        key = (request.tool, str(request.input.get("mode")))
        ev = Evidence(
            id=f"e{len(self.requests)}",
            tool=request.tool,
            query=request.input,
            claims=self.claims.get(key, []),
            trust=1.0 if request.confidence is None else request.confidence,
            about=about,
        )
        return None, ev

    def link(
        self, evidence_id: str, *, supports: tuple[str, ...] = (), contradicts: tuple[str, ...] = ()
    ) -> None:
        links = self.links.setdefault(evidence_id, {"supports": set(), "contradicts": set()})
        links["supports"].update(supports)
        links["contradicts"].update(contradicts)


def test_claims_become_candidates_scaled_by_trust_with_provenance() -> None:
    ev = Evidence(id="e7", tool="gazetteer", claims=[_claim("Strasbourg", 0.8)], trust=0.5)
    (cand,) = claimed([ev], set(), Ids(3))
    assert cand.id == "c4" and cand.weight == pytest.approx(0.4) == cand.prior
    assert cand.source == "gazetteer" and cand.evidence == ["e7"]
    assert claimed([ev], {"e7"}, Ids(0)) == []  # each result once
    assert claimed([ev.model_copy(update={"ok": False})], set(), Ids(0)) == []


def test_a_named_hypothesis_is_looked_up_and_trusted_as_far_as_it_is() -> None:
    rec = FakeRecorder({("gazetteer", "lookup"): [_claim("Strasbourg, Grand Est, FR", 1.0)]})
    hyp = Hypothesis(id="h2", level="city", name="Strasbourg", country_code="FR", confidence=0.6)
    (cand,) = ground(hyp, rec, Ids(0), online=False)
    assert cand.weight == pytest.approx(0.6) and cand.hypothesis == "h2"
    ((request, about),) = rec.requests
    assert about == "h2" and request.input["kinds"] == ["city"]
    assert request.input["country_code"] == "FR"


def test_an_unknown_name_is_geocoded_online_and_street_names_first() -> None:
    rec = FakeRecorder({("geocode", "forward"): [_claim("10 Downing St", 1.0, level="street")]})
    city = Hypothesis(id="h1", level="city", name="Nowhereville", confidence=0.5)
    assert ground(city, rec, Ids(0), online=False) == []
    assert [r.tool for r, _ in rec.requests] == ["gazetteer"]
    (found,) = ground(city, rec, Ids(0), online=True)
    assert found.label == "10 Downing St"
    rec.requests.clear()
    street = Hypothesis(id="h3", level="street", name="10 Downing St", confidence=0.5)
    ground(street, rec, Ids(0), online=True)
    assert [r.tool for r, _ in rec.requests] == ["geocode"]


def test_a_country_is_placed_and_a_point_is_checked_about_itself() -> None:
    rec = FakeRecorder({("gazetteer", "country"): [_claim("France", 1.0, level="country")]})
    (country,) = ground(
        Hypothesis(id="h1", level="country", country_code="FR", confidence=0.3),
        rec,
        Ids(0),
        online=False,
    )
    assert country.weight == pytest.approx(0.3)
    point = Hypothesis(id="h2", level="city", name="Atlantis", lat=31.0, lon=-30.0, confidence=0.9)
    (cand,) = ground(point, rec, Ids(1), online=False)
    assert (cand.lat, cand.lon, cand.source, cand.weight) == (31.0, -30.0, "model", 0.9)
    request, about = rec.requests[-1]
    assert request.input["mode"] == "reverse" and about == "h2"
    # a placeholder point is not worth a look-up: the verify node drops it
    asked = len(rec.requests)
    null = Hypothesis(id="h3", level="city", name="Null Island", lat=0.0, lon=0.0, confidence=0.9)
    ground(null, rec, Ids(2), online=False)
    assert len(rec.requests) == asked


class _Band(ToolOutput):
    """Contradicts candidates east of a longitude, supports the others."""

    east_of: float

    def supports(self, candidate: Candidate) -> bool:
        return candidate.lon <= self.east_of

    def contradicts(self, candidate: Candidate) -> float:
        return 0.5 if candidate.lon > self.east_of else 0.0


def _cand(cid: str, lon: float, **kw: Any) -> Candidate:
    base = {"lat": 45.0, "radius_km": 8.0, "level": "city", "label": cid, "weight": 0.8}
    return Candidate.model_validate({"id": cid, "lon": lon, **base, **kw})


def test_checks_weigh_candidates_strongest_per_tool_and_spare_measured_fixes() -> None:
    rec = FakeRecorder({})
    band = [Evidence(id="e1", tool="band"), Evidence(id="e2", tool="band")]
    outputs = {"e1": _Band(east_of=30.0), "e2": _Band(east_of=40.0)}
    cands = [_cand("c1", 10.0), _cand("c2", 70.0), _cand("c3", 70.0, measured=True)]
    west, east, gps = checked(cands, band, lambda ev: outputs[ev.id], rec)
    assert west.weight == 0.8 and east.weight == pytest.approx(0.4) and gps.weight == 0.8
    assert east.prior == 0.8  # kept, so checks are recomputed from scratch next time
    assert rec.links["e1"]["contradicts"] == {"c2"} and "c1" in rec.links["e1"]["supports"]
    again = checked([east], band, lambda ev: outputs[ev.id], rec)[0]
    assert again.weight == pytest.approx(0.4)  # not weighed down twice


def test_a_check_about_one_hypothesis_bears_on_its_candidates_only() -> None:
    rec = FakeRecorder({})
    ev = Evidence(id="e1", tool="gazetteer", about="h1")
    mine, other = _cand("c1", 70.0, hypothesis="h1"), _cand("c2", 70.0, hypothesis="h2")
    out = checked([mine, other], [ev], lambda _: _Band(east_of=0.0), rec)
    assert [c.weight for c in out] == [pytest.approx(0.4), 0.8]


def test_a_repeated_claim_keeps_one_candidate_with_the_stronger_weight() -> None:
    old = _cand("c1", 7.75, source="gazetteer", ref="geonames:1", prior=0.5, weight=0.5)
    again = _cand("c9", 7.75, source="gazetteer", ref="geonames:1", prior=0.7, weight=0.7)
    (merged,) = merge_repeats([again], [old])
    assert merged.id == "c1" and merged.prior == 0.7
    other_tool = again.model_copy(update={"source": "osm"})
    assert merge_repeats([other_tool], [old]) == [other_tool]


def test_only_outputs_that_check_are_loaded_for_checks() -> None:
    assert checks_candidates(_Band) and not checks_candidates(ToolOutput)
    assert not checks_candidates(BaseModel)
