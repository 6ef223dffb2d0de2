"""The flow (bench/queries.py) in one process, the app called as ASGI: repeatable instruction
counts where the shared machine's wall-clock isn't.

    python -m bench.inprocess seed              # BENCH_DATABASE_URL emptied, seeded as bench/ seeds it
    python -m bench.inprocess run 30 [--cheap]  # 10 flows of warm-up, then 30 measured
    valgrind --tool=callgrind --instr-atstart=no python -m bench.inprocess run 30 --callgrind

With `--callgrind` the measured loop alone is counted (`callgrind_control -i on/off` around it):
divide valgrind's "Collected" by the flows. `--cheap` sends, instead of each flow, three
cartSetItem mutations refused in their resolver (an id that isn't one): no SQL, the fixed cost of
a mutation through the middleware, the view and graphql-core. Seed again before each measurement:
every flow adds orders, and a database that grew answers at another cost.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import uvloop

from bench import queries
from bench.seed import DEFAULT_URL, seed
from bench.server import paygate_env

SECRET = "in-process-bench-secret-" + "x" * 40
SEEDED = Path("var/bench-inprocess.json")


async def _seed(url: str) -> None:
    seeded = await seed(url, 8)
    SEEDED.parent.mkdir(exist_ok=True)
    SEEDED.write_text(json.dumps({"buyer": [seeded.buyers[0].user_id, seeded.buyers[0].email],
                                  "product": seeded.product_ids[0]}))


async def _post(app, body: bytes, token: str) -> bytes:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"authorization", f"Bearer {token}".encode()), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000), "state": {}}
    sent = False
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def _run(flows: int, cheap: bool, callgrind: bool) -> None:
    from gql.schema.relay import to_global_id
    from paygate.app import create_app
    from paygate.auth import TokenCodec
    from paygate.logs import configure_logging
    from paygate.settings import Settings

    configure_logging()
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # the lines cost, unread
    seeded = json.loads(SEEDED.read_text())
    app = create_app(Settings())
    token = TokenCodec(SECRET).issue(seeded["buyer"][0], seeded["buyer"][1], ["customer"])
    product = to_global_id("Product", seeded["product"])
    add = json.dumps({"query": queries.CART_SET_ITEM, "variables": {"productId": product}}).encode()
    check_out = json.dumps({"query": queries.CHECKOUT}).encode()
    refused = json.dumps({"query": queries.CART_SET_ITEM, "variables": {"productId": "PRODUCT"}}).encode()

    async def flow() -> None:
        if cheap:
            for _ in range(3):
                assert b"BAD_USER_INPUT" in await _post(app, refused, token)
            return
        assert b'"Cart"' in await _post(app, add, token)
        answer = await _post(app, check_out, token)
        order = json.loads(answer)["data"]["checkout"]["order"]["id"]
        paid = json.dumps({"query": queries.PROCESS_PAYMENT,
                           "variables": {"orderId": order, "card": queries.VISA}}).encode()
        assert b'"SUCCEEDED"' in await _post(app, paid, token)

    startup: asyncio.Queue = asyncio.Queue()
    lifespan_sent: asyncio.Queue = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       startup.get, lifespan_sent.put))
    await lifespan_sent.get()
    for _ in range(10):
        await flow()
    gc.collect()
    gc.freeze()
    if callgrind:
        subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
    started = time.process_time()
    for _ in range(flows):
        await flow()
    spent = time.process_time() - started
    if callgrind:
        subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
    print(f"{flows} {'cheap mutations x3' if cheap else 'flows'}: {spent / flows * 1000:.2f} ms of CPU each",
          file=sys.stderr)
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan_sent.get()
    await lifespan


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess")
    parser.add_argument("what", choices=["seed", "run"])
    parser.add_argument("flows", type=int, nargs="?", default=30)
    parser.add_argument("--cheap", action="store_true")
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ.update(paygate_env(url, SECRET))
    os.environ.pop("PAYGATE_REDIS_URL", None)
    if args.what == "seed":
        asyncio.run(_seed(url))
    else:
        uvloop.run(_run(args.flows, args.cheap, args.callgrind))


if __name__ == "__main__":
    main()
