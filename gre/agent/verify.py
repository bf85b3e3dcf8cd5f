"""Verification: tool claims become candidates, hypotheses are grounded, checks weigh them.

One path for every tool, built-in or plugin:

1. every result's :meth:`~gre.tools.base.ToolOutput.claims` become candidates, each
   weighed by the claim's weight times the request's trust (a look-up asked for a
   model's hypothesis is trusted as far as the hypothesis is);
2. a model's hypotheses are grounded by requesting tools: a named place is looked up
   (the gazetteer; online, the geocoder for what it does not know and for street-level
   names), a country is placed, a point is checked by a reverse look-up about it;
3. every result that checks (:meth:`~gre.tools.base.ToolOutput.contradicts`,
   :meth:`~gre.tools.base.ToolOutput.supports`) bears on every candidate, or only on
   the candidates of the hypothesis it was requested about. Of one tool's results the
   strongest contradiction counts; contradictions of different tools multiply. Positions
   measured (a GPS fix) are not weighed down;
4. placeholder points (0,0) are dropped, and a model's place that only repeats the
   photo's text is flagged and weighed down (:mod:`gre.agent.echoes`).

Candidates keep their weight before checks (``prior``), so checks are recomputed from
all the evidence each time and a late result (a loop's text clues, a plugin's band)
also bears on earlier candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from gre.agent.converge import LEVEL_RADIUS_KM
from gre.agent.echoes import ECHO_FACTOR, ECHO_FLAG
from gre.agent.executor import Executor
from gre.geo import haversine_km, placeholder_point
from gre.records import Candidate, Evidence, Hypothesis, Level, PlaceClaim, ToolRequest
from gre.tools.base import ToolOutput

_KINDS: dict[Level, list[str]] = {
    "street": ["city"],
    "city": ["city"],
    "region": ["admin1", "admin2"],
    "country": ["country"],
    "continent": ["continent"],
    "unknown": ["city", "admin1", "country"],
}

OutputOf = Callable[[Evidence], ToolOutput | None]
"""Loads a result's typed output (None for results that do not check)."""


class Ids:
    """Run-unique candidate ids ``c1``, ``c2``, ... continuing from those in the state."""

    def __init__(self, taken: int) -> None:
        self._n = taken

    def __call__(self) -> str:
        self._n += 1
        return f"c{self._n}"


def from_claim(claim: PlaceClaim, ev: Evidence, cid: str) -> Candidate:
    """The candidate one claim of one result makes."""
    weight = round(claim.weight * ev.trust, 6)
    return Candidate(
        id=cid,
        lat=claim.lat,
        lon=claim.lon,
        radius_km=claim.radius_km,
        level=claim.level,
        label=claim.label,
        country_code=claim.country,
        weight=weight,
        prior=weight,
        source=ev.tool,
        evidence=[ev.id],
        hypothesis=ev.about,
        ref=claim.ref,
        measured=claim.measured,
        why=claim.why,
    )


def claimed(evidence: Iterable[Evidence], done: set[str], new_id: Ids) -> list[Candidate]:
    """Candidates from the claims of every result not yet turned into candidates."""
    out: list[Candidate] = []
    for ev in evidence:
        if ev.ok and ev.id not in done:
            out.extend(from_claim(claim, ev, new_id()) for claim in ev.claims)
    return out


def ground(hyp: Hypothesis, rec: Executor, new_id: Ids, *, online: bool) -> list[Candidate]:
    """Candidates for one hypothesis of a model (none when the tools cannot ground it).

    Grounding requests are made ``about`` the hypothesis and trusted as far as it is,
    so their claims become its candidates at its confidence.
    """

    def ask(tool: str, params: dict[str, Any]) -> list[Candidate]:
        request = ToolRequest(tool=tool, input=params, confidence=hyp.confidence)
        _, ev = rec.request(request, by="verify", about=hyp.id)
        return [from_claim(c, ev, new_id()) for c in ev.claims[:1]] if ev.ok else []

    if hyp.lat is not None and hyp.lon is not None:
        cand = _point(hyp, new_id(), hyp.lat, hyp.lon)
        if placeholder_point(hyp.lat, hyp.lon):  # dropped by the node, with its warning
            return [cand]
        if not hyp.ref:  # a model's point: check it against the map of populated places
            params = {"mode": "reverse", "lat": hyp.lat, "lon": hyp.lon, "limit": 1}
            rec.request(ToolRequest(tool="gazetteer", input=params), by="verify", about=hyp.id)
        return [cand]
    if hyp.country_code and (hyp.level == "country" or not hyp.name):
        return ask("gazetteer", {"mode": "country", "country_code": hyp.country_code})
    if not hyp.name:
        return []
    lookup: dict[str, Any] = {"mode": "lookup", "name": hyp.name, "limit": 3}
    lookup["kinds"] = _KINDS[hyp.level]
    if hyp.country_code:
        lookup["country_code"] = hyp.country_code
    geocode: dict[str, Any] = {"mode": "forward", "query": hyp.name, "limit": 3}
    if hyp.country_code:
        geocode["country_codes"] = [hyp.country_code]
    if online and hyp.level == "street":
        return ask("geocode", geocode) or ask("gazetteer", lookup)
    found = ask("gazetteer", lookup)
    if not found and online:
        return ask("geocode", geocode)
    return found


def _point(hyp: Hypothesis, cid: str, lat: float, lon: float) -> Candidate:
    return Candidate(
        id=cid,
        lat=lat,
        lon=lon,
        radius_km=hyp.radius_km or LEVEL_RADIUS_KM[hyp.level],
        level=hyp.level,
        label=hyp.name or f"{lat:.4f}, {lon:.4f}",
        country_code=hyp.country_code,
        weight=hyp.confidence,
        prior=hyp.confidence,
        source=hyp.ref.split(":")[0] if hyp.ref else "model",
        hypothesis=hyp.id,
        ref=hyp.ref,
        why=hyp.rationale,
    )


def merge_repeats(new: Sequence[Candidate], old: Sequence[Candidate]) -> list[Candidate]:
    """A source repeating a place it already gave is not new evidence: keep one, max weight."""
    kept: dict[str, Candidate] = {}
    pool = list(old)
    for cand in new:
        twin = next((c for c in pool if _same(c, cand)), None)
        if twin is None:
            kept[cand.id] = cand
            pool.append(cand)
        elif _prior(cand) > _prior(twin):
            better = twin.model_copy(
                update={
                    "weight": cand.weight,
                    "prior": _prior(cand),
                    "evidence": list(dict.fromkeys([*twin.evidence, *cand.evidence])),
                }
            )
            kept[twin.id] = better
            pool = [better if c.id == twin.id else c for c in pool]
    return list(kept.values())


def _prior(c: Candidate) -> float:
    return c.weight if c.prior is None else c.prior


def _same(a: Candidate, b: Candidate) -> bool:
    if a.source != b.source or a.level != b.level:
        return False
    if a.ref and b.ref:
        return a.ref == b.ref
    return a.label == b.label and haversine_km(a.lat, a.lon, b.lat, b.lon) <= max(
        a.radius_km, b.radius_km
    )


def checked(
    candidates: Sequence[Candidate],
    evidence: Sequence[Evidence],
    output_of: OutputOf,
    rec: Executor,
) -> list[Candidate]:
    """Every candidate weighed by every result that checks it; links recorded on the results."""
    checkers = [(ev, out) for ev in evidence if ev.ok for out in [output_of(ev)] if out is not None]
    for cand in candidates:  # the results that made a candidate support it
        for ev_id in cand.evidence:
            rec.link(ev_id, supports=(cand.id,))
    out: list[Candidate] = []
    for cand in candidates:
        strongest: dict[str, float] = {}
        for ev, output in checkers:
            if ev.about is not None and ev.about != cand.hypothesis:
                continue
            if output.supports(cand):
                rec.link(ev.id, supports=(cand.id,))
            strength = 0.0 if cand.measured else min(1.0, max(0.0, output.contradicts(cand)))
            if strength > 0:
                rec.link(ev.id, contradicts=(cand.id,))
                strongest[ev.tool] = max(strongest.get(ev.tool, 0.0), strength)
        prior = _prior(cand)
        weight = prior * (ECHO_FACTOR if ECHO_FLAG in cand.flags else 1.0)
        for strength in strongest.values():
            weight *= 1.0 - strength
        out.append(cand.model_copy(update={"prior": prior, "weight": round(weight, 6)}))
    return out


def checks_candidates(output_model: type[BaseModel]) -> bool:
    """True when a tool's outputs check candidates (their class overrides a check)."""
    return issubclass(output_model, ToolOutput) and (
        output_model.supports is not ToolOutput.supports
        or output_model.contradicts is not ToolOutput.contradicts
    )
