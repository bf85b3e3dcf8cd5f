"""The evaluation runner: N photos in flight, every result logged durably, resumable.

Each sample runs the agent in a worker thread (the graph is synchronous; the
model server is where the waiting happens). Before each attempt a ``start``
record is logged and after it one ``result`` record, flushed and fsynced. Run
the same command again and finished samples are skipped; a sample whose run
crashed is retried up to ``max_attempts`` (also across process deaths, thanks
to the start records) and then recorded as failed. Every sample ends with
exactly one result record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gre import __version__
from gre.config import Settings
from gre.errors import GreError
from gre.eval.datasets import Dataset, Sample, agent_copy
from gre.eval.log import (
    RunHeader,
    RunLog,
    SampleResult,
    SampleStart,
    repair_torn_tail,
    scan_log,
)
from gre.geo import haversine_km
from gre.graphs.locator import Locator
from gre.records import Trace


class EvalError(GreError, ValueError):
    """The evaluation cannot start (one-line message)."""


class EvalConfig(BaseModel):
    """How a run is made; recorded in the log header and checked on resume."""

    concurrency: int = Field(default=4, ge=1, le=512)
    max_attempts: int = Field(default=2, ge=1, le=10)
    limit: int | None = Field(default=None, ge=1)
    shard: tuple[int, int] = (1, 1)
    model_urls: list[str] = Field(default_factory=list)
    keep_traces: bool = False
    seed: int = 0


@dataclass
class Progress:
    """What the runner reports after each sample."""

    total: int
    done: int = 0
    skipped: int = 0
    answered: int = 0
    within_25: int = 0
    within_750: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


ProgressHook = Callable[[Progress, SampleResult | None], None]


def select(samples: Sequence[Sample], shard: tuple[int, int], limit: int | None) -> list[Sample]:
    """This shard's samples (K of N, by position in id order), then the first ``limit``."""
    k, n = shard
    if not (1 <= k <= n):
        raise EvalError(f"shard {k}/{n}: K must be between 1 and N")
    ordered = sorted(samples, key=lambda s: s.id)
    chosen = [s for i, s in enumerate(ordered) if i % n == k - 1]
    return chosen[:limit] if limit else chosen


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _run_config(settings: Settings, config: EvalConfig) -> dict[str, Any]:
    """The parts of the configuration that must match for a run to resume."""
    return {
        "graph": settings.graph,
        "backend": settings.backend,
        "model": settings.model,
        "ignore_metadata": settings.ignore_metadata,
        "offline": settings.offline,
        "max_steps": settings.max_steps,
        "max_attempts": config.max_attempts,
    }


def make_header(dataset: Dataset, settings: Settings, config: EvalConfig) -> RunHeader:
    return RunHeader(
        run_id=uuid.uuid4().hex[:12],
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        gre_version=__version__,
        git_revision=_git_revision(),
        dataset=dataset.header(),
        config={**_run_config(settings, config), "model_urls": config.model_urls},
        seed=config.seed,
        shard=config.shard,
        limit=config.limit,
    )


def _check_resumable(old: RunHeader, new: RunHeader) -> None:
    if old.dataset.get("content_hash") != new.dataset.get("content_hash"):
        raise EvalError(
            "the log belongs to another dataset (content hash differs); use a new --out"
        )
    for key in ("graph", "backend", "model", "ignore_metadata", "max_steps"):
        if old.config.get(key) != new.config.get(key):
            raise EvalError(
                f"the log was made with {key}={old.config.get(key)!r}, not "
                f"{new.config.get(key)!r}; use a new --out"
            )
    if tuple(old.shard) != tuple(new.shard):
        raise EvalError(f"the log is shard {old.shard[0]}/{old.shard[1]}; use a new --out")


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
    answered = pred.lat is not None and pred.lon is not None and not pred.abstained
    status = "failed" if trace.error else ("ok" if answered else "abstained")
    error_km = (
        haversine_km(pred.lat, pred.lon, sample.lat, sample.lon)  # type: ignore[arg-type]
        if answered
        else None
    )
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
        error=trace.error or (pred.reason if not answered else None),
        duration_ms=trace.duration_ms,
        usage=usage,
        leaks_dropped=leaks,
        trace=trace.model_dump(mode="json") if keep_trace else None,
    )


class Runner:
    """Runs a dataset through one Locator per model URL, resumably."""

    def __init__(
        self,
        dataset: Dataset,
        settings: Settings,
        config: EvalConfig,
        log_path: Path,
        *,
        locator_factory: Callable[[Settings], Locator] | None = None,
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.log_path = log_path
        urls = config.model_urls or [settings.model_url or ""]
        per_server = max(1, -(-config.concurrency // len(urls)))
        self.settings = [
            settings.model_copy(
                update={
                    "model_url": url or None,
                    "model_concurrency": max(settings.model_concurrency, per_server),
                }
            )
            for url in urls
        ]
        self._factory = locator_factory or (lambda s: Locator(s))
        self.header = make_header(dataset, settings, config)

    def plan(self) -> tuple[list[Sample], dict[str, int], int]:
        """Samples still to run, attempts already begun for them, and how many are done."""
        chosen = select(self.dataset.samples, self.config.shard, self.config.limit)
        starts: dict[str, int] = {}
        done: set[str] = set()
        if self.log_path.exists() and self.log_path.stat().st_size > 0:
            repair_torn_tail(self.log_path)
            contents = scan_log(self.log_path)
            _check_resumable(contents.header, self.header)
            self.header = contents.header
            done = set(contents.results)
            starts = contents.starts
        else:
            RunLog(self.log_path).append(self.header)
        todo = [s for s in chosen if s.id not in done]
        return todo, starts, len(chosen) - len(todo)

    async def run(self, on_progress: ProgressHook | None = None) -> Progress:
        todo, starts, already = self.plan()
        progress = Progress(total=len(todo) + already, skipped=already)
        hook = on_progress or (lambda p, r: None)
        hook(progress, None)
        if not todo:
            return progress
        log = RunLog(self.log_path)
        locators = [self._factory(s) for s in self.settings]
        for loc in locators:
            loc.prepare()
        slots: asyncio.Queue[Locator] = asyncio.Queue()
        for i in range(self.config.concurrency):
            slots.put_nowait(locators[i % len(locators)])
        pool = ThreadPoolExecutor(
            max_workers=self.config.concurrency, thread_name_prefix="gre-eval"
        )
        loop = asyncio.get_running_loop()

        async def one(sample: Sample) -> None:
            locator = await slots.get()
            try:
                result = await loop.run_in_executor(
                    pool, self._attempts, locator, sample, starts.get(sample.id, 0), log
                )
            finally:
                slots.put_nowait(locator)
            progress.done += 1
            if result.status == "failed":
                progress.failed += 1
            if result.error_km is not None:
                progress.answered += 1
                progress.within_25 += result.error_km <= 25
                progress.within_750 += result.error_km <= 750
            hook(progress, result)

        try:
            await asyncio.gather(*(one(s) for s in todo))
        finally:
            pool.shutdown(wait=True)
            log.close()
            for loc in locators:
                loc.close()
        return progress

    def _attempts(self, locator: Locator, sample: Sample, begun: int, log: RunLog) -> SampleResult:
        """Run a sample until it succeeds or its attempts are spent; log one result."""
        attempt = begun
        result: SampleResult | None = None
        while attempt < self.config.max_attempts:
            attempt += 1
            log.append(SampleStart(sample_id=sample.id, attempt=attempt))
            trace = self._locate(locator, sample)
            result = result_of(sample, trace, attempt, self.config.keep_traces)
            if result.status != "failed":
                break
        if result is None:  # every attempt was begun by processes that died
            result = SampleResult(
                sample_id=sample.id,
                status="failed",
                lat_true=sample.lat,
                lon_true=sample.lon,
                category=sample.category,
                attempts=begun,
                error=f"the runner died during each of {begun} attempts on this sample",
            )
        log.append(result)
        return result

    def _locate(self, locator: Locator, sample: Sample) -> Trace:
        if self.dataset.strip_metadata:
            with_tmp = locator.workdir / "eval-input"
            image = agent_copy(sample, with_tmp)
            try:
                return locator.locate(image, leak_terms=_leak_terms(sample))
            finally:
                image.unlink(missing_ok=True)
        return locator.locate(sample.image, leak_terms=_leak_terms(sample))


def _leak_terms(sample: Sample) -> list[str]:
    """Strings that identify the test photo itself in web results (dropped and counted)."""
    terms = {sample.id, sample.image.name, sample.image.stem}
    return sorted(t for t in terms if len(t) >= 4)
