"""The load generator: N keep-alive HTTP/1.1 connections on loopback, closed loop, fixed duration.

It runs as its own process (`python -m bench.load`, spec as JSON on stdin, result as JSON on
stdout), never inside a server's, so the servers pay for their own work only. wrk is not
installed here, and httpx spends more CPU per request than a small server does, so this is a
bare asyncio protocol on uvloop: requests are pre-encoded bytes, a response is parsed only as
far as its status, headers and Content-Length (or chunks).

Two scenarios:
  request  every connection sends the same request again and again (one latency per request);
  flow     every connection is one customer who adds an item, checks out and pays, again and
           again (one latency per whole flow, three GraphQL mutations).

Only what starts after the warm-up and finishes before the end counts: rate = counted / window.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import queries

FLOW_ERROR_PAUSE_S = 0.05  # after a failed flow, so a broken server is not hammered in a tight loop


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            parsed = parse_response(self.buffer)
        except ValueError as exc:
            self.waiter.set_exception(exc)
            return
        if parsed is not None:
            status, body, used = parsed
            del self.buffer[:used]
            self.waiter.set_result((status, body))

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection closed by the server: {exc}"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def parse_response(buf: bytearray) -> tuple[int, bytes, int] | None:
    """(status, body, bytes used) of the first complete response in buf; None if incomplete."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end]).lower()
    status = int(head[9:12])
    start = head_end + 4
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        eol = head.find(b"\r\n", at + 2)
        length = int(head[at + 17: eol if eol >= 0 else len(head)])
        if len(buf) < start + length:
            return None
        return status, bytes(buf[start:start + length]), start + length
    if b"\r\ntransfer-encoding: chunked" not in head:
        raise ValueError("response without Content-Length or chunked encoding")
    body = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if len(buf) < eol + 2 + size + 2:
            return None
        body += buf[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2
        if size == 0:
            return status, bytes(body), pos


def encode_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Tally:
    warm_end: float
    end: float
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_sample: str | None = None
    completed: int = 0  # all of them, warm-up and tail included: the server's CPU is divided by it

    def record(self, started: float, finished: float, ok: bool, body: bytes = b"") -> None:
        self.completed += 1
        if started < self.warm_end or finished > self.end:
            return
        if ok:
            self.latencies_s.append(finished - started)
        else:
            self.errors += 1
            if self.error_sample is None:
                self.error_sample = body[:500].decode("utf-8", "replace")


async def _connect(host: str, port: int) -> HttpConnection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(HttpConnection, host, port)
    return conn


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of our connection from `client_port` (Linux /proc/net/tcp)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                return fields[9]
    return None


def _owner(inode: str, pids: list[int]) -> int | None:
    """Which of `pids` holds the socket `inode` (it has accepted the connection), if any yet."""
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    return None


async def _spread_connections(host: str, port: int, count: int, workers: list[int]) -> list[HttpConnection]:
    """`count` connections, as evenly spread over the server's worker processes as a load balancer
    would spread them. uvicorn's workers accept from one shared socket, and which one wins each
    accept is up to the kernel's wake-ups: eight keep-alive connections opened at once went all to
    one worker in two tries out of three (bench/README.md), leaving the other idle for the whole
    run. So: connect, see which worker accepted (/proc), keep the connection if that worker is
    short of its share, else hold it aside and connect again; close the ones held aside at the end."""
    share = {pid: count // len(workers) + (1 if i < count % len(workers) else 0) for i, pid in enumerate(workers)}
    kept: list[HttpConnection] = []
    aside: list[HttpConnection] = []
    try:
        while len(kept) < count:
            if len(aside) > 40 * count:
                raise RuntimeError(f"could not spread {count} connections over the workers {workers}")
            conn = await _connect(host, port)
            client_port = conn.transport.get_extra_info("sockname")[1]
            owner = None
            for _ in range(200):  # until a worker has accepted it (≤ 2 s)
                inode = _socket_inode(port, client_port)
                owner = _owner(inode, workers) if inode else None
                if owner is not None:
                    break
                await asyncio.sleep(0.01)
            if owner is None:
                # No worker seen holding it (another user's processes, /proc hidden): the kernel's
                # spread then, for this connection and the rest.
                print("bench.load: can't see which worker accepted a connection; spread left to the kernel",
                      file=sys.stderr)
                kept.append(conn)
                kept += [await _connect(host, port) for _ in range(count - len(kept))]
            elif share[owner] > 0:
                share[owner] -= 1
                kept.append(conn)
            else:
                aside.append(conn)
    except BaseException:
        for conn in kept:
            conn.close()
        raise
    finally:
        for conn in aside:
            conn.close()
    return kept


async def _request_loop(conn: HttpConnection, request: bytes, must_not_contain: bytes | None,
                        tally: Tally) -> None:
    clock = time.perf_counter
    while True:
        started = clock()
        if started >= tally.end:
            return
        status, body = await conn.send(request)
        ok = status == 200 and (must_not_contain is None or must_not_contain not in body)
        tally.record(started, clock(), ok, body)


async def _flow_loop(conn: HttpConnection, host: str, token: str, product_id: str, path: str,
                     tally: Tally) -> None:
    clock = time.perf_counter
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def post(document: str, variables: dict | None = None) -> bytes:
        payload = {"query": document, "variables": variables} if variables else {"query": document}
        return encode_request("POST", path, host, headers, json.dumps(payload).encode())

    add_item = post(queries.CART_SET_ITEM, {"productId": product_id})
    check_out = post(queries.CHECKOUT)
    while True:
        started = clock()
        if started >= tally.end:
            return
        failed = b""
        status, body = await conn.send(add_item)
        if status != 200 or b'"Cart"' not in body:
            failed = body or b"cartSetItem: status %d" % status
        else:
            status, body = await conn.send(check_out)
            if status != 200 or b'"CheckoutSuccess"' not in body:
                failed = body or b"checkout: status %d" % status
            else:
                order_id = json.loads(body)["data"]["checkout"]["order"]["id"]
                status, body = await conn.send(post(queries.PROCESS_PAYMENT,
                                                    {"orderId": order_id, "card": queries.VISA}))
                if status != 200 or b'"SUCCEEDED"' not in body:
                    failed = body or b"processPayment: status %d" % status
        tally.record(started, clock(), not failed, failed)
        if failed:
            await asyncio.sleep(FLOW_ERROR_PAUSE_S)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run(spec: dict) -> dict:
    host, port = spec["host"], spec["port"]
    warmup_s, duration_s = spec["warmup_s"], spec["duration_s"]
    connections = spec["connections"]
    workers = spec.get("workers") or []
    if len(workers) > 1:
        conns = await _spread_connections(host, port, connections, workers)
    else:
        conns = [await _connect(host, port) for _ in range(connections)]
    loop_started = time.perf_counter()
    tally = Tally(warm_end=loop_started + warmup_s, end=loop_started + warmup_s + duration_s)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    if spec["scenario"] == "request":
        request = encode_request(spec["method"], spec["path"], f"{host}:{port}", spec.get("headers", {}),
                                 spec.get("body", "").encode())
        must_not = spec.get("must_not_contain")
        jobs = [_request_loop(c, request, must_not.encode() if must_not else None, tally) for c in conns]
    elif spec["scenario"] == "flow":
        customers = spec["customers"]
        assert len(customers) >= connections, "one customer per connection"
        jobs = [_flow_loop(c, f"{host}:{port}", cust["token"], cust["product_id"], spec["path"], tally)
                for c, cust in zip(conns, customers, strict=False)]  # extra customers stay idle
    else:
        raise ValueError(f"unknown scenario {spec['scenario']!r}")
    try:
        async with asyncio.timeout(warmup_s + duration_s + spec.get("grace_s", 30)):
            await asyncio.gather(*jobs)
    finally:
        for c in conns:
            c.close()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - loop_started
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    lat = sorted(tally.latencies_s)
    return {
        "count": len(lat),
        "errors": tally.errors,
        "completed": tally.completed,
        "error_sample": tally.error_sample,
        "window_s": duration_s,
        "rate": len(lat) / duration_s,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "mean_ms": (sum(lat) / len(lat) * 1000) if lat else float("nan"),
        "loadgen_cpu": cpu / wall,  # share of one core
    }


def request_spec(port: int, path: str, document: str, token: str, variables: dict | None,
                 connections: int) -> dict:
    """Every connection POSTs this GraphQL request again and again; an answer with errors fails."""
    body = json.dumps({"query": document, "variables": variables or {}})
    return {"scenario": "request", "port": port, "method": "POST", "path": path, "body": body,
            "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            "must_not_contain": '"errors"', "connections": connections}


def flow_spec(port: int, customers: list[dict], workers: list[int] | None = None) -> dict:
    """One connection per customer ({"token", "product_id"}), each buying again and again; with
    `workers` (the server's worker processes), the connections spread evenly over them."""
    return {"scenario": "flow", "port": port, "path": "/graphql", "connections": len(customers),
            "customers": customers, "workers": workers or []}


def spawn(spec: dict, timeout_s: float) -> dict:
    """Run the load in a new process (`python -m bench.load`) and return its result."""
    done = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(spec), capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parent.parent, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    spec = json.load(sys.stdin)
    try:
        import uvloop
        loop_factory = uvloop.new_event_loop
    except ImportError:  # plain asyncio works, it only costs more CPU per request
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(run(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
