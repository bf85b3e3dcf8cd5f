"""One attempt at one sample: run the agent on its photo and make its log record.

Shared by every way photos are run (threads here, Ray workers elsewhere), so that
a photo gets the same record whichever runs it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gre.errors import GreError
from gre.eval.datasets import Sample, agent_copy
from gre.eval.log import SampleResult
from gre.geo import haversine_km
from gre.graphs.locator import Locator
from gre.ingest.photo import PhotoError
from gre.records import Prediction, Trace


def model_failure(trace: Trace) -> str | None:
    """Why the model could not be asked about this photo, or None when it could.

    A model call that failed with no reply at all (server down, HTTP errors,
    time-outs, a runtime's crash) is the model's failure, not the photo's. The
    attempt failed for that reason when no call got a reply, or when some did not
    and the photo was left unanswered.
    """
    calls = [(g.ok, g.error) for g in trace.generations]
    calls += [(st.ok or st.raw is not None, st.error) for st in trace.stages]
    errors = [error or "no reply" for replied, error in calls if not replied]
    if not errors:
        return None
    pred = trace.prediction
    answered = pred.lat is not None and pred.lon is not None and not pred.abstained
    if len(errors) == len(calls) or not answered:
        return errors[0]
    return None


def result_of(sample: Sample, trace: Trace, attempts: int, keep_trace: bool) -> SampleResult:
    """A sample's log record from the agent's trace."""
    pred = trace.prediction
    usage: dict[str, int] = {}
    for stage in trace.stages:
        for key, value in stage.usage.items():
            usage[key] = usage.get(key, 0) + value
    for gen in trace.generations:
        for key, value in gen.usage.items():
            usage[key] = usage.get(key, 0) + value
    leaks = sum(
        int(ev.result.get("dropped", 0)) for ev in trace.evidence if ev.tool == "search" and ev.ok
    )
    unavailable = None if trace.error else model_failure(trace)
    answered = (
        pred.lat is not None and pred.lon is not None and not pred.abstained and not unavailable
    )
    status = "failed" if trace.error or unavailable else ("ok" if answered else "abstained")
    error_km = (
        haversine_km(pred.lat, pred.lon, sample.lat, sample.lon)  # type: ignore[arg-type]
        if answered
        else None
    )
    if unavailable:
        error: str | None = f"model unavailable: {unavailable}"
    else:
        error = trace.error or (pred.reason if not answered else None)
    return SampleResult(
        sample_id=sample.id,
        status=status,
        lat_true=sample.lat,
        lon_true=sample.lon,
        lat=pred.lat if answered else None,
        lon=pred.lon if answered else None,
        error_km=error_km,
        level=pred.level,
        radius_km=pred.radius_km,
        confidence=pred.confidence,
        category=sample.category,
        attempts=attempts,
        error=error,
        retryable=unavailable is not None,
        duration_ms=trace.duration_ms,
        usage=usage,
        leaks_dropped=leaks,
        trace=trace.model_dump(mode="json") if keep_trace else None,
    )


def locate_sample(locator: Locator, sample: Sample, strip_metadata: bool) -> Trace:
    """Run the agent on one sample's photo (on an agent copy without metadata when
    ``strip_metadata``); a photo that cannot be read is a failed trace, not an error."""
    if strip_metadata:
        with_tmp = locator.workdir / "eval-input"
        started = dt.datetime.now(dt.UTC)
        try:
            image = agent_copy(sample, with_tmp)
        except (PhotoError, OSError) as exc:
            reason = f"cannot read the photo: {exc}"
            return Trace(
                input_path=str(sample.image),
                started_at=started,
                finished_at=dt.datetime.now(dt.UTC),
                backend=locator.backend.name,
                graph=locator.settings.graph,
                model=locator.backend.model,
                prediction=Prediction(abstained=True, reason=reason),
                error=reason,
            )
        try:
            trace = locator.locate(image, leak_terms=_leak_terms(sample))
        finally:
            image.unlink(missing_ok=True)
        return as_sample(trace, image, sample)
    return locator.locate(sample.image, leak_terms=_leak_terms(sample))


def as_sample(trace: Trace, copy: Path, sample: Sample) -> Trace:
    """The trace of an agent copy as the sample's: its photo, not the deleted copy, is named.

    The photo's hash, format and size stay the copy's (what the agent read).
    """
    photo = trace.photo
    update: dict[str, Any] = {"input_path": str(sample.image)}
    if photo is not None and photo.path == str(copy):
        update["photo"] = photo.model_copy(update={"path": str(sample.image)})
    return trace.forget_paths(str(copy)).model_copy(update=update)


def _leak_terms(sample: Sample) -> list[str]:
    """Strings that identify the test photo itself in web results (dropped and counted)."""
    terms = {sample.id, sample.image.name, sample.image.stem}
    return sorted(t for t in terms if len(t) >= 4)


class WorkerDied(GreError, RuntimeError):
    """The process running an attempt died before it returned a result.

    ``blamed`` is False when other photos shared that process when it died: the
    death may be any of theirs, so the attempt does not count and the runner tries
    the photo again alone.
    """

    def __init__(self, reason: str, *, blamed: bool) -> None:
        super().__init__(reason)
        self.blamed = blamed


class Slot(Protocol):
    """One place a photo can run at a time: a thread here, or a share of a Ray worker."""

    def attempt(self, sample: Sample, attempt: int, *, alone: bool = False) -> SampleResult:
        """The sample's record for this attempt; WorkerDied when its process died.

        ``alone``: run with no other photo on the same process (after an unblamed death).
        """
        ...


@dataclass
class LocalSlot:
    """A photo run in this process, by a Locator shared with other threads."""

    locator: Locator
    strip_metadata: bool
    keep_traces: bool

    def attempt(self, sample: Sample, attempt: int, *, alone: bool = False) -> SampleResult:
        trace = locate_sample(self.locator, sample, self.strip_metadata)
        return result_of(sample, trace, attempt, self.keep_traces)


def failed_result(sample: Sample, attempts: int, reason: str) -> SampleResult:
    """The record of a sample that failed with no trace (its process died, say)."""
    return SampleResult(
        sample_id=sample.id,
        status="failed",
        lat_true=sample.lat,
        lon_true=sample.lon,
        category=sample.category,
        attempts=attempts,
        error=reason,
    )
