"""bench/load.py spreads its connections evenly over a server's worker processes, which accept
from one shared socket as uvicorn's `--workers N` do (the suite never runs the bench itself)."""
from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sys
import time

import pytest

from bench import load

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _accept_forever(listener: socket.socket, delay_s: float) -> None:
    held = []
    while True:
        time.sleep(delay_s)  # the slow worker: left alone, the other one wins nearly every accept
        conn, _ = listener.accept()
        held.append(conn)


def test_connections_spread_evenly_over_workers_sharing_one_socket() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_accept_forever, args=(listener, delay), daemon=True) for delay in (0, 0.2)]
    for worker in workers:
        worker.start()
    try:
        pids = [w.pid for w in workers]
        owners = asyncio.run(_spread(port, 8, pids))
        assert sorted(owners.count(pid) for pid in pids) == [4, 4]
    finally:
        for worker in workers:
            worker.kill()
        listener.close()


async def _spread(port: int, count: int, pids: list[int]) -> list[int]:
    conns = await load._spread_connections("127.0.0.1", port, count, pids)
    try:
        owners = []
        for conn in conns:
            client_port = conn.transport.get_extra_info("sockname")[1]
            inode = load._socket_inode(port, client_port)
            owners.append(load._owner(inode, pids))
        return owners
    finally:
        for conn in conns:
            conn.close()
