"""Hosts that could not be reached, and the network time one photo may spend.

A host that could not be reached (name lookup failed or timed out, no route,
connect time-out) opens a :class:`Breaker` shared by every client, tool and thread
of the process, so later calls fail at once; and a photo's network calls draw on
one :class:`NetworkBudget` when the run sets one (:func:`network_budget`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from gre.tools.support.exchange import BudgetSpent, HttpError, one_line, secs

MAX_REST_S = 3600.0
"""The longest a host that asked for a longer ``Retry-After`` is left alone."""
DOWN_COOLDOWN_S = 300.0  # an unreachable host is not tried again for this long (doubling)


class Breaker:
    """Hosts (or providers) that could not be reached lately, and hosts that have answered.

    One per process (:data:`BREAKER`) is shared by every tool's client and thread: a host
    that failed to connect is not tried again for ``cooldown_s``, twice that after a second
    failure in a row, and so on up to :data:`MAX_REST_S` (an answer starts over); and until
    a host has answered once, its requests go one at a time (:meth:`first_contact`), so
    that many queries to a dead host cost one attempt.
    """

    def __init__(self, cooldown_s: float = DOWN_COOLDOWN_S) -> None:
        self.cooldown_s = cooldown_s
        self._down: dict[str, tuple[float, float, str, str]] = {}  # since, until, state, why
        self._strikes: dict[str, int] = {}  # failures in a row
        self._answered: set[str] = set()
        self._gates: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Raise HttpError at once while ``key`` is resting."""
        now = time.monotonic()
        with self._lock:
            down = self._down.get(key)
            if down is None:
                return
            since, until, state, why = down
            if now >= until:
                del self._down[key]
                return
        raise HttpError(
            f"{key} {state} {now - since:.0f} s ago ({why}); "
            f"not contacted again for {until - now:.0f} s"
        )

    def trip(
        self,
        key: str,
        why: str,
        *,
        seconds: float | None = None,
        state: str = "was unreachable",
    ) -> None:
        """Leave ``key`` alone for ``seconds`` (by default the cooldown, doubled per strike)."""
        now = time.monotonic()
        with self._lock:
            strikes = self._strikes.get(key, 0)
            self._strikes[key] = strikes + 1
            rest = min(MAX_REST_S, self.cooldown_s * 2**strikes) if seconds is None else seconds
            self._down[key] = (now, now + rest, state, one_line(why, 200))
            self._answered.discard(key)

    def answered(self, key: str) -> None:
        """``key`` answered: its requests no longer wait for one another."""
        with self._lock:
            self._answered.add(key)
            self._strikes.pop(key, None)

    @contextmanager
    def first_contact(self, key: str, timeout_s: float) -> Iterator[None]:
        """Until ``key`` has answered, one caller at a time (the others wait up to timeout_s)."""
        with self._lock:
            gate = None if key in self._answered else self._gates.setdefault(key, threading.Lock())
        if gate is None:
            yield
            return
        if not gate.acquire(timeout=max(0.0, timeout_s)):
            raise HttpError(f"no time left while waiting for a first answer from {key}")
        try:
            yield
        finally:
            gate.release()


BREAKER = Breaker()
"""The process's breaker: every shared client and the search providers use it."""


class NetworkBudget:
    """Seconds one photo may spend on network calls, shared by the threads of its tools."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent = 0.0
        self._lock = threading.Lock()

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    def left(self) -> float:
        with self._lock:
            return max(0.0, self.seconds - self._spent)

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._spent += max(0.0, seconds)

    def check(self, what: str) -> None:
        """Raise BudgetSpent when nothing is left."""
        if self.left() <= 0:
            raise BudgetSpent(
                f"the photo's network budget ({secs(self.seconds)} s) is spent; "
                f"{what} was not contacted"
            )


_BUDGET: ContextVar[NetworkBudget | None] = ContextVar("gre_network_budget", default=None)


@contextmanager
def network_budget(seconds: float) -> Iterator[NetworkBudget]:
    """Network calls made in this context (and in contexts copied from it) share ``seconds``.

    A run enters it once per photo (``settings.network_budget_s``); worker threads see it
    when they run in a copy of the context (``contextvars.copy_context().run``).
    """
    budget = NetworkBudget(seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget() -> NetworkBudget | None:
    """The budget of the photo being run, or None outside one."""
    return _BUDGET.get()
