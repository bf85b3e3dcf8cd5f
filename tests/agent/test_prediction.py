"""The answer's wording: honest abstentions, no nearest place for coarse answers."""

from __future__ import annotations

from pydantic import BaseModel

from gre.agent.converge import fuse
from gre.agent.prediction import abstention, predict
from gre.records import Candidate, Clue, Evidence, PlaceClaim, ToolRequest


class NoGazetteer:
    """An executor whose reverse look-ups find nothing (and counts them)."""

    def __init__(self) -> None:
        self.asked = 0

    def request(
        self, request: ToolRequest, *, by: str, about: str | None = None, refuse: str | None = None
    ) -> tuple[BaseModel | None, Evidence]:
        self.asked += 1
        return None, Evidence(id="e9", tool=request.tool, ok=False, error="not installed")

    def link(self, evidence_id: str, **_: tuple[str, ...]) -> None:
        return None


def _text(value: str) -> Clue:
    return Clue(stage="details", kind="text", value=value, source="ocr")


def test_an_abstention_says_what_failed_and_what_was_read() -> None:
    gps = PlaceClaim(lat=1, lon=1, radius_km=0.03, level="street", label="GPS", weight=0.9)
    timed_out = Evidence(
        id="e2", tool="ocr", ok=False, error="ocr timed out after 60 s", requested_by="planner"
    )
    reason = abstention([Evidence(id="e1", tool="exif"), timed_out], [])
    assert "ocr failed (ocr timed out after 60 s)" in reason
    assert "no GPS in the metadata" in reason and "no text read" in reason
    unread = abstention([], [_text("Hunde SKAL føres i snor")])
    assert "metadata not read" in unread and "no GPS" not in unread
    assert "'Hunde SKAL føres i snor'" in unread
    with_gps = abstention([Evidence(id="e1", tool="exif", claims=[gps])], [])
    assert "GPS" not in with_gps


def test_abstained_prediction_carries_the_reason() -> None:
    rec = NoGazetteer()
    pred = predict(fuse([]), rec, tools_only=True, clues=[_text("NO LITTER")])
    assert pred.abstained and "'NO LITTER'" in pred.reason and rec.asked == 0


def test_a_country_answer_names_no_nearest_place() -> None:
    france = Candidate(
        id="c1", lat=46.6, lon=2.4, radius_km=420, level="country", label="France",
        country_code="FR", weight=0.6,
    )  # fmt: skip
    rec = NoGazetteer()
    pred = predict(fuse([france]), rec, tools_only=True)
    assert pred.level == "country" and pred.nearest_place is None and rec.asked == 0
    town = france.model_copy(update={"id": "c2", "level": "city", "radius_km": 8, "weight": 0.8})
    predict(fuse([town]), rec, tools_only=True)
    assert rec.asked == 1  # a city answer looks its nearest place up


def test_every_candidate_contradicted_abstains_and_says_so() -> None:
    from gre.agent.converge import fuse
    from gre.agent.prediction import predict
    from gre.records import Candidate

    null = Candidate(
        id="c1", lat=10.0, lon=-30.0, radius_km=8, level="city", label="Atlantis",
        weight=0.2, prior=0.9, source="model",
    )  # fmt: skip
    prediction = predict(fuse([null]), None, tools_only=False)  # type: ignore[arg-type]
    assert prediction.abstained and prediction.lat is None
    assert "contradicted" in prediction.reason and "Atlantis" in prediction.reason
