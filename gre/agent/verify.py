"""Turn hypotheses into candidates, checking each one against the tools.

A hypothesis that a tool produced (EXIF GPS, a gazetteer match) is already
grounded. One that a model produced is looked up: a named place must exist in
the gazetteer, a point is reverse-geocoded and its country compared with the
claim. Every candidate is then checked against the country distribution read
from the text (language, script): agreement is recorded as support, a clash
as a contradiction that lowers the candidate's weight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from gre.agent.converge import LEVEL_RADIUS_KM
from gre.records import Candidate, Evidence, Hypothesis, Level

CONTRADICTED = 0.7
"""Weight factor for a candidate whose country the text evidence rules out."""
STRONG_TEXT = 0.6
"""Language confidence above which text evidence may contradict a candidate's country."""
FUZZY_FACTOR = 0.7
FAR_FROM_PLACES_KM = 50.0
"""A city- or street-level point this far from every populated place is implausible."""
FAR_FACTOR = 0.3

_KINDS: dict[Level, list[str]] = {
    "street": ["city"],
    "city": ["city"],
    "region": ["admin1", "admin2"],
    "country": ["country"],
    "continent": ["continent"],
    "unknown": ["city", "admin1", "country"],
}


class Recorder(Protocol):
    """The part of a node recorder that verification uses."""

    def tool(self, name: str, params: dict[str, Any]) -> tuple[BaseModel | None, Evidence]: ...

    def link(
        self, evidence_id: str, *, supports: tuple[str, ...] = (), contradicts: tuple[str, ...] = ()
    ) -> None: ...


def _label(name: str, admin1: str | None, country_code: str | None, level: str) -> str:
    parts = [name]
    if level in ("city", "street") and admin1 and admin1 != name:
        parts.append(admin1)
    if country_code and level != "country":
        parts.append(country_code)
    return ", ".join(parts)


def _candidate(
    hyp: Hypothesis, cid: str, *, lat: float, lon: float, radius: float | None, **extra: Any
) -> Candidate:
    level = hyp.level
    fields: dict[str, Any] = {
        "id": cid,
        "lat": lat,
        "lon": lon,
        "radius_km": radius or hyp.radius_km or LEVEL_RADIUS_KM[level],
        "level": level,
        "label": hyp.name or f"{lat:.4f}, {lon:.4f}",
        "country_code": hyp.country_code,
        "weight": hyp.confidence,
        "source": hyp.ref.split(":")[0] if hyp.ref else "model",
        "hypothesis": hyp.id,
        "ref": hyp.ref,
    }
    fields.update(extra)
    return Candidate(**fields)


def resolve(
    hyp: Hypothesis, rec: Recorder, new_id: Callable[[], str], *, geocode: bool = False
) -> list[Candidate]:
    """Candidates for one hypothesis (none when the tools cannot ground it).

    With ``geocode`` (online), a named place the gazetteer does not know, and any
    street-level name (an address, a landmark), is looked up with the geocoder.
    """
    if hyp.lat is not None and hyp.lon is not None:
        if hyp.ref:  # produced by a tool: already grounded
            return [_candidate(hyp, new_id(), lat=hyp.lat, lon=hyp.lon, radius=hyp.radius_km)]
        return _check_point(hyp, hyp.lat, hyp.lon, rec, new_id)
    if hyp.level == "country" or (hyp.country_code and not hyp.name):
        return _country(hyp, rec, new_id)
    if geocode and hyp.level == "street":
        return _geocode(hyp, rec, new_id) or _lookup(hyp, rec, new_id)
    found = _lookup(hyp, rec, new_id)
    if not found and geocode:
        return _geocode(hyp, rec, new_id)
    return found


def _check_point(
    hyp: Hypothesis, lat: float, lon: float, rec: Recorder, new_id: Callable[[], str]
) -> list[Candidate]:
    out, ev = rec.tool("gazetteer", {"mode": "reverse", "lat": lat, "lon": lon, "limit": 1})
    places = ev.result.get("places", []) if out is not None else []
    nearest = places[0] if places else None
    cand = _candidate(
        hyp,
        new_id(),
        lat=lat,
        lon=lon,
        radius=hyp.radius_km,
        label=hyp.name
        or (
            _label(nearest["name"], nearest.get("admin1"), nearest.get("country_code"), "city")
            if nearest
            else f"{lat:.4f}, {lon:.4f}"
        ),
        country_code=hyp.country_code or (nearest or {}).get("country_code"),
    )
    far = (
        nearest is not None
        and hyp.level in ("city", "street")
        and float(nearest.get("distance_km") or 0.0) > FAR_FROM_PLACES_KM
    )
    if nearest and hyp.country_code and nearest.get("country_code") != hyp.country_code:
        rec.link(ev.id, contradicts=(cand.id,))
        cand = cand.model_copy(update={"weight": cand.weight * 0.5})
    elif far:
        rec.link(ev.id, contradicts=(cand.id,))
        cand = cand.model_copy(update={"weight": cand.weight * FAR_FACTOR})
    elif nearest:
        rec.link(ev.id, supports=(cand.id,))
    return [cand]


def _country(hyp: Hypothesis, rec: Recorder, new_id: Callable[[], str]) -> list[Candidate]:
    if not hyp.country_code:
        return _lookup(hyp, rec, new_id)
    out, ev = rec.tool("gazetteer", {"mode": "country", "country_code": hyp.country_code})
    info = ev.result.get("country") if out is not None else None
    if not info:
        return []
    cand = _candidate(
        hyp,
        new_id(),
        lat=float(info["lat"]),
        lon=float(info["lon"]),
        radius=float(info["radius_km"]),
        label=str(info["name"]),
        level="country",
    )
    rec.link(ev.id, supports=(cand.id,))
    return [cand]


def _lookup(hyp: Hypothesis, rec: Recorder, new_id: Callable[[], str]) -> list[Candidate]:
    if not hyp.name:
        return []
    params: dict[str, Any] = {"mode": "lookup", "name": hyp.name, "limit": 3}
    params["kinds"] = _KINDS[hyp.level]
    if hyp.country_code:
        params["country_code"] = hyp.country_code
    out, ev = rec.tool("gazetteer", params)
    places = ev.result.get("places", []) if out is not None else []
    if not places:
        return []
    best = places[0]
    weight = hyp.confidence
    if best.get("match") == "fuzzy":
        weight *= float(best.get("score", 0.0)) / 100.0 * FUZZY_FACTOR
    cand = _candidate(
        hyp,
        new_id(),
        lat=float(best["lat"]),
        lon=float(best["lon"]),
        radius=float(best.get("radius_km") or LEVEL_RADIUS_KM[hyp.level]),
        label=_label(best["name"], best.get("admin1"), best.get("country_code"), hyp.level),
        country_code=best.get("country_code"),
        weight=weight,
    )
    rec.link(ev.id, supports=(cand.id,))
    return [cand]


def _geocode(hyp: Hypothesis, rec: Recorder, new_id: Callable[[], str]) -> list[Candidate]:
    if not hyp.name:
        return []
    params: dict[str, Any] = {"mode": "forward", "query": hyp.name, "limit": 3}
    if hyp.country_code:
        params["country_codes"] = [hyp.country_code]
    out, ev = rec.tool("geocode", params)
    places = ev.result.get("places", []) if out is not None else []
    if not places:
        return []
    best = places[0]
    cand = _candidate(
        hyp,
        new_id(),
        lat=float(best["lat"]),
        lon=float(best["lon"]),
        radius=None,
        label=str(best.get("display_name") or best["name"])[:120],
        country_code=best.get("country_code") or hyp.country_code,
        weight=hyp.confidence * (1.0 if best.get("source") == "nominatim" else 0.8),
    )
    rec.link(ev.id, supports=(cand.id,))
    return [cand]


def text_countries(evidence: list[Evidence]) -> tuple[str | None, dict[str, float], float]:
    """The latest text-clue evidence: its id, country distribution and language confidence."""
    for ev in reversed(evidence):
        if ev.tool == "text_clues" and ev.ok:
            dist = {c["code"]: float(c["weight"]) for c in ev.result.get("countries", [])}
            langs = ev.result.get("languages", [])
            conf = max((float(lang["confidence"]) for lang in langs), default=0.0)
            return ev.id, dist, conf
    return None, {}, 0.0


def cross_check(cands: list[Candidate], evidence: list[Evidence], rec: Recorder) -> list[Candidate]:
    """Check each candidate's country against the text evidence; lower contradicted ones."""
    ev_id, dist, lang_conf = text_countries(evidence)
    if ev_id is None or not dist:
        return cands
    checked: list[Candidate] = []
    for cand in cands:
        code = cand.country_code
        if code is None or cand.source == "exif" or cand.level == "continent":
            checked.append(cand)
        elif code in dist:
            rec.link(ev_id, supports=(cand.id,))
            checked.append(cand)
        elif lang_conf >= STRONG_TEXT:
            rec.link(ev_id, contradicts=(cand.id,))
            checked.append(cand.model_copy(update={"weight": cand.weight * CONTRADICTED}))
        else:
            checked.append(cand)
    return checked
