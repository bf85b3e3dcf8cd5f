"""The evaluation runner: N photos in flight, every result logged durably, resumable.

Each sample runs the agent in a worker thread (the graph is synchronous; the
model server is where the waiting happens). Before each attempt a ``start``
record is logged and after it one ``result`` record, flushed and fsynced. Run
the same command again and finished samples are skipped; a sample whose run
crashed is retried up to ``max_attempts`` (also across process deaths, thanks
to the start records, see :func:`blame`) and then recorded as failed. A photo
the model could not be asked about (server down, errors) is recorded as failed
and retryable, never as an abstention, and the next run retries it. One process
writes a log at a time (:class:`~gre.eval.log.LogLock`); a full disk stops the
run with the log intact.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gre import __version__
from gre.config import Settings
from gre.errors import GreError
from gre.eval.attempt import (
    LocalSlot,
    Slot,
    WorkerDied,
    failed_result,
    model_failure,
    result_of,
)
from gre.eval.datasets import Dataset, Sample
from gre.eval.errors import ClusterError, EvalError
from gre.eval.log import (
    RESULT_CONFIG,
    RESULT_SETTINGS,
    LogContents,
    LogError,
    LogLock,
    LogWriteError,
    RunHeader,
    RunLog,
    SampleResult,
    SampleStart,
    log_state,
    repair_torn_tail,
    scan_log,
)
from gre.graphs.locator import Locator

__all__ = ["ClusterError", "EvalConfig", "EvalError", "Runner", "model_failure", "result_of"]


class EvalConfig(BaseModel):
    """How a run is made; recorded in the log header and checked on resume."""

    concurrency: int = Field(default=4, ge=1, le=512)
    max_attempts: int = Field(default=2, ge=1, le=10)
    limit: int | None = Field(default=None, ge=1)
    shard: tuple[int, int] = (1, 1)
    model_urls: list[str] = Field(default_factory=list)
    keep_traces: bool = False
    seed: int = 0
    ray: str | None = Field(default=None, min_length=1, max_length=300, pattern=r"^\S+$")
    """Run photos on a Ray cluster's workers instead of this process's threads: ``local``
    (the cluster running on this machine, else a new one), ``auto`` (the running
    one) or an address (``HOST:PORT``, ``ray://HOST:PORT``)."""
    ray_workers: int | None = Field(default=None, ge=1)
    """Ray worker processes (None: one per CPU of the cluster, at most ``concurrency``)."""


_FLAGS = {
    "offline": "--web",
    "ignore_metadata": "--use-metadata",
    "max_attempts": "--max-attempts",
    "graph": "--graph",
    "backend": "--backend",
    "model": "--model",
}


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
    retryable: int = 0
    """Of ``failed``, those the next run retries (the model was unavailable)."""
    failed_before: int = 0
    """Of ``skipped``, those an earlier run recorded as failed for good."""
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


ProgressHook = Callable[[Progress, SampleResult | None], None]


@dataclass
class Plan:
    """What a run still has to do, from the log so far."""

    todo: list[Sample]
    attempts: dict[str, int]
    """Attempts already counted against each sample (see :func:`blame`)."""
    suspects: set[str]
    """Samples in flight when a run died with others in flight: run alone, first."""
    done: int
    failed_before: int


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
    values = settings.model_dump(mode="json", include=set(RESULT_SETTINGS))
    values.update(config.model_dump(mode="json", include=set(RESULT_CONFIG)))
    return values


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
    """EvalError naming every result-changing setting the new run would change.

    A setting absent from the old header (a log written by an older gre) is not compared.
    """
    if old.dataset.get("content_hash") != new.dataset.get("content_hash"):
        raise EvalError(
            "the log belongs to another dataset (content hash differs); use a new --out"
        )
    if tuple(old.shard) != tuple(new.shard):
        raise EvalError(f"the log is shard {old.shard[0]}/{old.shard[1]}; use a new --out")
    differ = []
    for key in (*RESULT_SETTINGS, *RESULT_CONFIG):
        if key in old.config and old.config[key] != new.config.get(key):
            flag = f", {_FLAGS[key]}" if key in _FLAGS else ""
            was, now = old.config[key], new.config.get(key)
            differ.append(f"{key}={was!r} (now {now!r}{flag})")
    if differ:
        raise EvalError(
            f"the log was made with other settings: {', '.join(differ)}; "
            "resume with the log's settings or use a new --out"
        )


def blame(contents: LogContents) -> tuple[dict[str, int], set[str]]:
    """Attempts that count against each unfinished sample, and the samples to run alone.

    Each attempt writes a start record and each sample's result closes its starts,
    so the starts left open are attempts whose process ended before the result.
    Per process run (``session``), a sample's open starts but its last one are
    attempts that failed and were retried: they count. Its last one was in flight
    when that process died, and counts only when it was the *only* sample in
    flight then: an outside kill (SIGKILL, out of memory, a reboot) takes down all
    the photos in flight at once, and none of them is to blame. Those photos are
    suspects, and the next run runs suspects one at a time before the rest, so a
    photo that really kills the process does so alone and is counted.
    """
    orphans: dict[str, list[str]] = {}
    attempts: dict[str, int] = {}
    for sample_id, sessions in contents.open_starts.items():
        for session, begun in sessions.items():
            orphans.setdefault(session, []).append(sample_id)
            attempts[sample_id] = attempts.get(sample_id, 0) + begun - 1
    suspects: set[str] = set()
    for ids in orphans.values():
        if len(ids) == 1:
            attempts[ids[0]] += 1
        else:
            suspects.update(ids)
    return attempts, suspects


def check_log_path(path: Path) -> None:
    """EvalError unless ``path`` can be a run log: not a folder, its folder creatable."""
    if path.is_dir():
        raise EvalError(f"--out {path} is a folder; name a file, e.g. {path / 'run.jsonl'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        where = exc.filename or path.parent
        raise EvalError(f"--out {path}: cannot create its folder ({where} is a file)") from None
    except OSError as exc:
        raise EvalError(f"--out {path}: cannot create its folder ({exc.strerror or exc})") from None


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
        if dataset.strip_metadata and not settings.ignore_metadata:
            raise EvalError(
                f"--use-metadata: the truth of a {dataset.format} dataset is each photo's own "
                "metadata (EXIF GPS), which the agent never sees; run without it"
            )
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
        self.session = uuid.uuid4().hex[:12]
        self._stopping = threading.Event()

    def plan(self) -> Plan:
        """What is left to run; reads the log (or starts it with the header).

        The log is checked before anything is written to it: a file that is not a
        run log is refused untouched, and a log of other settings is refused.
        """
        check_log_path(self.log_path)
        chosen = select(self.dataset.samples, self.config.shard, self.config.limit)
        try:
            state = log_state(self.log_path)
        except LogError as exc:
            raise EvalError(f"{exc}; it is left untouched, use another --out") from None
        if state == "log":
            repair_torn_tail(self.log_path)
            contents = scan_log(self.log_path)
            _check_resumable(contents.header, self.header)
            self.header = contents.header
            attempts, suspects = blame(contents)
            final = {sid: r for sid, r in contents.results.items() if not r.retryable}
        else:
            if state == "torn_header":  # the first run died writing the header
                self.log_path.write_bytes(b"")
            log = RunLog(self.log_path)
            try:
                log.append(self.header)
            finally:
                log.close()
            attempts, suspects, final = {}, set(), {}
        todo = [s for s in chosen if s.id not in final]
        failed_before = sum(1 for s in chosen if s.id in final and final[s.id].status == "failed")
        return Plan(
            todo=todo,
            attempts={s.id: attempts[s.id] for s in todo if s.id in attempts},
            suspects={s.id for s in todo if s.id in suspects},
            done=len(chosen) - len(todo),
            failed_before=failed_before,
        )

    async def run(self, on_progress: ProgressHook | None = None) -> Progress:
        """Run what is left; LogBusy when another process writes the log, LogWriteError
        (after the photos in flight end) when the log cannot be written."""
        check_log_path(self.log_path)
        with LogLock(self.log_path):
            return await self._run(on_progress)

    async def _run(self, on_progress: ProgressHook | None) -> Progress:
        self._stopping.clear()
        plan = self.plan()
        progress = Progress(
            total=len(plan.todo) + plan.done, skipped=plan.done, failed_before=plan.failed_before
        )
        hook = on_progress if on_progress is not None else (lambda p, r: None)
        hook(progress, None)
        if not plan.todo:
            return progress
        log = RunLog(self.log_path)
        try:
            opened, close = self._open_slots()
        except BaseException:
            log.close()
            raise
        slots: asyncio.Queue[Slot] = asyncio.Queue()
        for slot in opened:
            slots.put_nowait(slot)
        pool = ThreadPoolExecutor(max_workers=len(opened), thread_name_prefix="gre-eval")
        loop = asyncio.get_running_loop()
        stopped: list[GreError] = []

        async def one(sample: Sample) -> None:
            if self._stopping.is_set():
                return
            slot = await slots.get()
            try:
                if self._stopping.is_set():
                    return
                begun = plan.attempts.get(sample.id, 0)
                result = await loop.run_in_executor(pool, self._attempts, slot, sample, begun, log)
            except (LogWriteError, ClusterError) as exc:
                stopped.append(exc)
                self._stopping.set()
                return
            finally:
                slots.put_nowait(slot)
            if result is None:
                return
            progress.done += 1
            if result.status == "failed":
                progress.failed += 1
                progress.retryable += result.retryable
            if result.error_km is not None:
                progress.answered += 1
                progress.within_25 += result.error_km <= 25
                progress.within_750 += result.error_km <= 750
            hook(progress, result)

        async def drain(queue: Iterator[Sample]) -> None:
            for sample in queue:  # one coroutine per slot, not one per photo
                await one(sample)

        suspects = [s for s in plan.todo if s.id in plan.suspects]
        rest = iter([s for s in plan.todo if s.id not in plan.suspects])
        try:
            for sample in suspects:  # alone, so that a photo that kills the run is known
                await one(sample)
            await asyncio.gather(*(drain(rest) for _ in opened))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            log.close()
            close()
        if stopped:
            raise stopped[0]
        return progress

    def _open_slots(self) -> tuple[list[Slot], Callable[[], None]]:
        """``concurrency`` slots to run photos in, and what closes them."""
        n = self.config.concurrency
        strip, keep = self.dataset.strip_metadata, self.config.keep_traces
        if self.config.ray:
            from gre.eval.ray_pool import RayPool

            ray_pool = RayPool(
                self.settings,
                self._factory,
                strip_metadata=strip,
                keep_traces=keep,
                concurrency=n,
                address=self.config.ray,
                workers=self.config.ray_workers,
            )
            return list(ray_pool.slots()), ray_pool.close
        locators = [self._factory(s) for s in self.settings]
        try:
            for loc in locators:
                loc.prepare()
        except BaseException:
            for loc in locators:
                loc.close()
            raise
        slots: list[Slot] = [LocalSlot(locators[i % len(locators)], strip, keep) for i in range(n)]

        def close() -> None:
            for loc in locators:
                loc.close()

        return slots, close

    def _attempts(self, slot: Slot, sample: Sample, begun: int, log: RunLog) -> SampleResult | None:
        """Run a sample until it succeeds or its attempts are spent; log one result.

        None when the run is stopping and the sample was not started. An attempt whose
        process died while other photos shared it does not count: the photo runs again
        alone, so a photo that kills its worker is known and recorded as failed.
        """
        attempt = begun
        alone = False
        result: SampleResult | None = None
        while attempt < self.config.max_attempts:
            if self._stopping.is_set():
                return None
            attempt += 1
            log.append(SampleStart(sample_id=sample.id, attempt=attempt, session=self.session))
            try:
                result = slot.attempt(sample, attempt, alone=alone)
            except WorkerDied as exc:
                result = failed_result(sample, attempt, f"the worker died: {exc}")
                if not exc.blamed:
                    attempt -= 1
                    alone = True
                continue
            if result.status != "failed":
                break
        if result is None:  # every attempt was begun by processes that died
            result = failed_result(
                sample,
                begun,
                f"the runner died during its attempts on this sample ({begun} counted)",
            )
        log.append(result)
        return result
