"""Model-server client lanes: least-busy lease, a few connections per lane."""

from __future__ import annotations

import httpx

from gre.agent.vlm.lanes import LANE_CONNECTIONS, ClientLanes


def _lanes(connections: int) -> tuple[ClientLanes, list[httpx.Limits]]:
    made: list[httpx.Limits] = []

    def make(limits: httpx.Limits) -> httpx.Client:
        made.append(limits)
        return httpx.Client(limits=limits)

    return ClientLanes(make, connections), made


def test_lane_count_covers_the_connections_asked_for() -> None:
    for connections, lanes in ((1, 1), (4, 1), (5, 2), (64, 16), (65, 17)):
        pool, made = _lanes(connections)
        try:
            assert len(pool.clients) == lanes
            assert all(limits.max_connections == LANE_CONNECTIONS for limits in made)
        finally:
            pool.close()


def test_lease_takes_the_least_busy_lane_and_releases_it() -> None:
    pool, _ = _lanes(3 * LANE_CONNECTIONS)
    try:
        held = []
        leases = []
        # hold as many requests as the lanes take together: no lane is ever over its connections
        for _ in range(3 * LANE_CONNECTIONS):
            lease = pool.lease()
            held.append(lease.__enter__())
            leases.append(lease)
        per_lane = [sum(client is c for c in held) for client in pool.clients]
        assert per_lane == [LANE_CONNECTIONS] * 3
        # release one request on lane 2: the next lease goes there
        index = held.index(pool.clients[2])
        leases.pop(index).__exit__(None, None, None)
        held.pop(index)
        with pool.lease() as client:
            assert client is pool.clients[2]
        for lease in leases:
            lease.__exit__(None, None, None)
        with pool.lease() as client:
            assert client is pool.clients[0]
    finally:
        pool.close()


def test_a_failed_request_releases_its_lane() -> None:
    pool, _ = _lanes(2 * LANE_CONNECTIONS)
    try:
        try:
            with pool.lease() as client:
                assert client is pool.clients[0]
                raise httpx.ConnectError("down")
        except httpx.ConnectError:
            pass
        with pool.lease() as first, pool.lease() as second:
            assert (first, second) == (pool.clients[0], pool.clients[1])
    finally:
        pool.close()
