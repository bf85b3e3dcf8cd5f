"""Fuse candidate locations into one answer, a confidence radius and ranked alternatives.

Each candidate is a disc (point + its own radius) with a weight in [0, 1]: the
strength of the evidence for that place alone. Two candidates *agree* when one
disc contains the other's centre (great-circle distance ≤ the larger radius),
so a city agrees with the country it lies in and with another reading of the
same city. Where both carry country codes, the codes overrule the disc of a
country (a disc around Canada also covers Indiana, and none around Russia covers
all of it) and rule out a region of another country. A candidate's support is
the noisy-OR of the weights that agree with it. The answer is chosen in two steps:

1. the root: the best-supported candidate (ties go to the broader one);
2. refinement: inside the root, the narrowest candidate whose *specific*
   support (from evidence at its own scale or finer) reaches ``ACCEPT``.

So a country named by the language stays a country-level answer until some
evidence that is specific enough points at a city inside it. A *contradicted*
candidate (checks took at least half its weight, :data:`CONTRADICTED`) still lends
its weight to the places it agrees with and may be an alternative, but is never the
answer; when every candidate is contradicted there is no answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gre.geo import haversine_km, weighted_centroid
from gre.records import Candidate, Level
from gre.tools.gazetteer.borders import inside

ACCEPT = 0.3
"""Specific support a candidate needs to be answered at its own (finer) level."""

DISAGREE_RATIO = 0.6
"""A second, incompatible cluster with this share of the best support counts as disagreement."""

CONTRADICTED = 0.5
"""A candidate whose checks left less than this share of its weight is contradicted."""

MAX_CANDIDATES = 300

_BORDERED: frozenset[Level] = frozenset({"country", "region"})
"""Levels whose country code settles containment better than their disc."""

LEVEL_RADIUS_KM: dict[Level, float] = {
    "street": 0.5,
    "city": 8.0,
    "region": 120.0,
    "country": 500.0,
    "continent": 2500.0,
    "unknown": 5000.0,
}


def noisy_or(weights: Sequence[float]) -> float:
    """Probability that at least one of several independent pieces of evidence is right."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(max(w, 0.0), 1.0)
    return 1.0 - miss


@dataclass(frozen=True)
class Fusion:
    """The result of fusing candidates."""

    ranked: list[Candidate]
    answer: Candidate | None
    lat: float | None
    lon: float | None
    radius_km: float | None
    confidence: float
    alternatives: list[Candidate]
    rival: Candidate | None
    """The best candidate of a disagreeing cluster, when its support comes close."""


def contradicted(c: Candidate) -> bool:
    """True when the checks took at least half of the candidate's weight."""
    return c.prior is not None and c.prior > 0 and c.weight < CONTRADICTED * c.prior


def fuse(candidates: Sequence[Candidate], *, top_k: int = 5) -> Fusion:
    """Fuse ``candidates``; an empty input gives an empty fusion (no answer)."""
    cands = sorted(candidates, key=lambda c: -c.weight)[:MAX_CANDIDATES]
    if not cands:
        return Fusion([], None, None, None, None, 0.0, [], None)
    n = len(cands)
    dist = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d = haversine_km(cands[i].lat, cands[i].lon, cands[j].lat, cands[j].lon)
            dist[i][j] = dist[j][i] = d

    def agree(i: int, j: int) -> bool:
        broad, other = sorted((cands[i], cands[j]), key=lambda c: -c.radius_km)
        if broad.level in _BORDERED and broad.country_code and other.country_code:
            if broad.country_code != other.country_code:
                return False
            if broad.level == "country":
                return True
        if broad.level == "country" and broad.country_code:
            within = inside(broad.country_code, other.lat, other.lon)
            if within is not None:  # a point without a country: its border decides
                return within
        return dist[i][j] <= broad.radius_km

    support = [noisy_or([cands[j].weight for j in range(n) if agree(i, j)]) for i in range(n)]
    eligible = [i for i in range(n) if not contradicted(cands[i])]
    if not eligible:
        return Fusion(sorted(cands, key=lambda c: -c.weight), None, None, None, None, 0.0, [], None)
    root = max(eligible, key=lambda i: (round(support[i], 9), cands[i].radius_km))
    members = [j for j in range(n) if agree(root, j)]

    def specific_set(m: int, among: Sequence[int]) -> list[int]:
        limit = cands[m].radius_km * 1.5
        return [j for j in among if agree(m, j) and cands[j].radius_km <= limit]

    # every candidate's specific support: the confidence it would have as the answer
    specific = [noisy_or([cands[j].weight for j in specific_set(m, range(n))]) for m in range(n)]
    in_root = {m: noisy_or([cands[j].weight for j in specific_set(m, members)]) for m in members}
    refined = [m for m in members if in_root[m] >= ACCEPT and not contradicted(cands[m])]
    answer_i = min(refined, key=lambda m: (cands[m].radius_km, -in_root[m])) if refined else root
    answer = cands[answer_i]
    confidence = in_root[answer_i] if answer_i in in_root else support[answer_i]
    specific[answer_i] = confidence

    near = specific_set(answer_i, members)
    inv_var = [cands[j].weight / max(cands[j].radius_km, 1e-3) ** 2 for j in near]
    lat, lon = weighted_centroid([(cands[j].lat, cands[j].lon) for j in near], inv_var)
    total = sum(inv_var) or 1.0
    spread = math.sqrt(
        sum(
            w * haversine_km(lat, lon, cands[j].lat, cands[j].lon) ** 2
            for w, j in zip(inv_var, near, strict=True)
        )
        / total
    )
    radius = math.hypot(answer.radius_km, spread) * (1.0 + 0.5 * (1.0 - confidence))

    scored = [
        c.model_copy(update={"score": round(s, 4)}) for c, s in zip(cands, specific, strict=True)
    ]
    order = sorted(range(n), key=lambda i: (-support[i], cands[i].radius_km))
    by_score = sorted(range(n), key=lambda i: (-specific[i], cands[i].radius_km))
    ranked = [scored[i] for i in by_score]

    alternatives: list[int] = []
    for i in by_score:
        # what agrees with the answer (contains it, or lies in it) is folded into it
        if i == answer_i or agree(i, answer_i):
            continue
        duplicate = any(agree(i, j) and cands[i].level == cands[j].level for j in alternatives)
        if not duplicate:
            alternatives.append(i)
        if len(alternatives) >= top_k:
            break

    rivals = [i for i in order if not agree(i, answer_i) and not agree(i, root)]
    rival = None
    if rivals and support[rivals[0]] >= DISAGREE_RATIO * support[root] and support[root] < 0.9:
        rival = scored[rivals[0]]
    return Fusion(
        ranked=ranked,
        answer=scored[answer_i],
        lat=lat,
        lon=lon,
        radius_km=radius,
        confidence=round(confidence, 4),
        alternatives=[scored[i] for i in alternatives],
        rival=rival,
    )
