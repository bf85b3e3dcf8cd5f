"""HTTP clients that share a model server's requests in flight, a few connections each.

httpcore's connection pool scans every connection of the pool for every request it
places and again as each one ends, so one pool of 64 kept-alive connections spends
more CPU than the request itself (a run with 64 photos in flight spent 40 % of its
CPU there). Lanes of :data:`LANE_CONNECTIONS` connections keep each scan short; a
request takes the least busy lane, so while no more requests are in flight than
the lanes hold together, a request always finds a free connection in its lane.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

LANE_CONNECTIONS = 4


class ClientLanes:
    """``ceil(connections / LANE_CONNECTIONS)`` clients made by ``make``, leased per request."""

    def __init__(self, make: Callable[[httpx.Limits], httpx.Client], connections: int) -> None:
        limits = httpx.Limits(
            max_connections=LANE_CONNECTIONS, max_keepalive_connections=LANE_CONNECTIONS
        )
        count = max(1, math.ceil(connections / LANE_CONNECTIONS))
        self.clients = [make(limits) for _ in range(count)]
        self._busy = [0] * count
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[httpx.Client]:
        """The least busy lane's client, for one request."""
        with self._lock:
            lane = min(range(len(self._busy)), key=self._busy.__getitem__)
            self._busy[lane] += 1
        try:
            yield self.clients[lane]
        finally:
            with self._lock:
                self._busy[lane] -= 1

    def close(self) -> None:
        for client in self.clients:
            client.close()
