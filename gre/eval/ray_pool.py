"""Photos on a Ray cluster: one worker process per CPU, each holding the agent, fed by the driver.

The driver (the ``gre eval`` process) stays the only writer of the run log: it
logs each attempt's start, sends the photo's bytes to a worker (so the nodes need
no shared file system), and logs the record the worker returns. Each worker is a
Ray actor that builds its Locators once (the gazetteer and OSM indexes are built
once per node, under the index's lock file) and runs several photos at a time in
threads, as many as its share of ``--concurrency``; photos are sent only when a
slot is free, so no queue of photos builds up anywhere.

A worker that dies is restarted by Ray. The photos it was running get
:class:`~gre.eval.attempt.WorkerDied`; a photo that was alone on it is blamed (the
attempt counts), the others run again alone, so a photo that kills its worker
is recorded as failed and the others lose nothing.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gre.config import Settings
from gre.eval.attempt import (
    WorkerDied,
    as_sample,
    failed_result,
    locate_sample,
    result_of,
)
from gre.eval.datasets import Sample
from gre.eval.errors import ClusterError, EvalError
from gre.eval.log import SampleResult
from gre.graphs.locator import Locator

RESTART_WAIT_S = 300.0
INSTALL_HINT = "--ray needs Ray: pip install 'gre-suite[ray]'"
_ENV_TO_WORKERS = ("GRE_NETWORK_GUARD", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _ray() -> Any:
    """The ray module; EvalError with the install command when it is missing."""
    try:
        import ray
    except ImportError:
        raise EvalError(INSTALL_HINT) from None
    return ray


def require_ray() -> None:
    """EvalError with the install command unless Ray can be imported."""
    _ray()


class PhotoWorker:
    """A Ray actor's state: the Locators (one per model server) and a scratch folder."""

    def __init__(
        self,
        settings: list[Settings],
        factory: Callable[[Settings], Locator],
        strip_metadata: bool,
        keep_traces: bool,
    ) -> None:
        if os.environ.get("GRE_NETWORK_GUARD", "").strip().lower() == "loopback":
            from gre import netguard

            netguard.install()
        self.locators = [factory(s) for s in settings]
        for loc in self.locators:
            loc.prepare()
        self.strip_metadata = strip_metadata
        self.keep_traces = keep_traces
        self.scratch = Path(tempfile.mkdtemp(prefix="gre-ray-"))

    def ready(self) -> int:
        """This worker's process id, once its Locators are prepared."""
        return os.getpid()

    def attempt(
        self, server: int, sample: Sample, data: bytes | None, attempt: int
    ) -> SampleResult:
        """Run one attempt on the photo ``data`` (or, when None, on the sample's own path)."""
        if data is None:
            trace = locate_sample(self.locators[server], sample, self.strip_metadata)
            return result_of(sample, trace, attempt, self.keep_traces)
        folder = self.scratch / uuid.uuid4().hex
        folder.mkdir()
        photo = folder / sample.image.name  # the same name: leak terms and formats read it
        try:
            photo.write_bytes(data)
            local = sample.model_copy(update={"image": photo})
            trace = locate_sample(self.locators[server], local, self.strip_metadata)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return result_of(sample, as_sample(trace, photo, sample), attempt, self.keep_traces)


class _Gate:
    """The photos in flight on one worker, so that a death is blamed only on a lone photo."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: dict[int, bool] = {}  # token -> shared the worker at some point
        self._alone_waiting = 0
        self._alone_running = False
        self._tokens = itertools.count()
        self._broken = False
        self._probe_lock = threading.Lock()

    def enter(self, alone: bool) -> int:
        with self._cond:
            if alone:
                self._alone_waiting += 1
                self._cond.wait_for(lambda: not self._active and not self._alone_running)
                self._alone_waiting -= 1
                self._alone_running = True
            else:
                self._cond.wait_for(lambda: not self._alone_waiting and not self._alone_running)
            token = next(self._tokens)
            shared = bool(self._active)
            for other in self._active:
                self._active[other] = True
            self._active[token] = shared
            return token

    def leave(self, token: int, alone: bool, *, died: bool = False) -> bool:
        """Whether the photo shared the worker with another while it ran."""
        with self._cond:
            shared = self._active.pop(token)
            if alone:
                self._alone_running = False
            self._broken = self._broken or died
            self._cond.notify_all()
            return shared

    def wait_ready(self, probe: Callable[[], None]) -> None:
        """After a death, wait (once, for all callers) until ``probe`` finds the worker back."""
        with self._probe_lock:
            if self._broken:
                probe()
                self._broken = False


class RaySlot:
    """A share of one Ray worker, talking to one model server."""

    def __init__(self, actor: Any, gate: _Gate, server: int, max_bytes: int) -> None:
        self._actor = actor
        self._gate = gate
        self._server = server
        self._max_bytes = max_bytes

    def attempt(self, sample: Sample, attempt: int, *, alone: bool = False) -> SampleResult:
        ray = _ray()
        data = _read(sample.image, self._max_bytes)
        token = self._gate.enter(alone)
        died: str | None = None
        try:
            self._gate.wait_ready(self._until_back)
            ref = self._actor.attempt.remote(self._server, sample, data, attempt)
            result: SampleResult = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            died = f"its process exited; Ray: {type(exc).__name__}"
        except ray.exceptions.RayTaskError as exc:  # a bug in the worker's code: this photo's
            return failed_result(sample, attempt, f"worker error: {_first_line(exc)}")
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"the Ray cluster failed: {_first_line(exc)}") from None
        finally:
            shared = self._gate.leave(token, alone, died=died is not None)
        if died is not None:
            raise WorkerDied(died, blamed=not shared)
        return result

    def _until_back(self) -> None:
        """Wait until Ray has restarted the worker; ClusterError when it does not come back."""
        ray = _ray()
        deadline = time.monotonic() + RESTART_WAIT_S
        while True:
            try:
                ray.get(self._actor.ready.remote())
                return
            except ray.exceptions.ActorUnavailableError:  # restarting
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            except ray.exceptions.RayError as exc:
                raise ClusterError(f"a Ray worker did not restart: {_first_line(exc)}") from None
        raise ClusterError(f"a Ray worker did not restart within {RESTART_WAIT_S:.0f} s")


class RayPool:
    """Ray workers for one run: started on a cluster (joined or local), closed at the end."""

    def __init__(
        self,
        settings: list[Settings],
        factory: Callable[[Settings], Locator],
        *,
        strip_metadata: bool,
        keep_traces: bool,
        concurrency: int,
        address: str = "local",
        workers: int | None = None,
    ) -> None:
        ray = _ray()
        self._owned = not ray.is_initialized()
        if self._owned:
            env = {k: os.environ[k] for k in _ENV_TO_WORKERS if k in os.environ}
            try:
                ray.init(
                    address=None if address == "local" else address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                    runtime_env={"env_vars": env} if env else None,
                )
            except Exception as exc:  # Ray raises many kinds here
                where = "this machine" if address == "local" else address
                raise ClusterError(
                    f"cannot start or join Ray at {where}: {_first_line(exc)}"
                ) from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, min(concurrency, workers or cpus))
        per_worker = -(-concurrency // count)
        actor_class = ray.remote(
            num_cpus=1 if workers is None else min(1.0, cpus / count),
            max_restarts=-1,
            max_task_retries=0,
            max_concurrency=per_worker,
        )(PhotoWorker)
        self._actors = [
            actor_class.remote(settings, factory, strip_metadata, keep_traces) for _ in range(count)
        ]
        try:
            ray.get([a.ready.remote() for a in self._actors])
        except ray.exceptions.RayError as exc:
            self.close()
            raise ClusterError(f"a Ray worker could not start: {_first_line(exc)}") from None
        self._gates = [_Gate() for _ in self._actors]
        self._servers = len(settings)
        self._concurrency = concurrency
        self._max_bytes = max(s.max_file_bytes for s in settings)

    @property
    def pids(self) -> list[int]:
        """The workers' process ids (they change when Ray restarts a worker)."""
        ray = _ray()
        return [int(pid) for pid in ray.get([a.ready.remote() for a in self._actors])]

    def slots(self) -> Iterator[RaySlot]:
        """``concurrency`` slots, spread over the workers and then the servers."""
        count = len(self._actors)
        for i in range(self._concurrency):
            worker = i % count
            server = (i // count) % self._servers
            yield RaySlot(self._actors[worker], self._gates[worker], server, self._max_bytes)

    def close(self) -> None:
        """Stop the workers (and the local cluster, when this pool started it)."""
        ray = _ray()
        for actor in self._actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                continue
        self._actors = []
        if self._owned and ray.is_initialized():
            ray.shutdown()


def _read(path: Path, max_bytes: int) -> bytes | None:
    """The photo's bytes to send; None (the worker reads the path itself and fails
    the same way as a local run) when it is missing, unreadable or over the limit."""
    try:
        if not path.is_file() or path.stat().st_size > max_bytes:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
