"""The `paygate` command (CONTRACT.md, Commands)."""
from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import sys
import tempfile

from paygate.settings import Settings


def _migrate(settings: Settings) -> None:
    from db.migrate import upgrade

    upgrade(settings.database_url)
    print(f"migrated {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def _demo(settings: Settings) -> None:
    from db.engine import Database
    from db.row_ids import pk
    from paygate.auth import TokenCodec
    from paygate.demo import load_demo

    db = Database.from_url(settings.database_url)
    try:
        users, added = await load_demo(db)
    finally:
        await db.dispose()
    print("demo shop loaded" if added else "demo shop already loaded")
    tokens = TokenCodec(settings.secret_key, settings.jwt_public_key)
    print("bearer tokens (30 days), for the Authorization header: Bearer <token>")
    for email, user in users.items():
        roles = user.roles.split()
        print(f"  {email:<24} {roles[0]:<9} {tokens.issue(pk(user), email, roles)}")


async def _token(settings: Settings, who: str, role: str) -> None:
    from db import queries
    from db.engine import Database
    from paygate.auth import TokenCodec

    db = Database.from_url(settings.database_url)
    try:
        if who.isdigit():
            user = (await queries.users_by_ids(db, [int(who)])).get(int(who))
        else:
            user = await queries.user_by_email(db, who)
    finally:
        await db.dispose()
    if user is None:
        sys.exit(f"no user {who!r}: run `paygate demo` or create the user first")
    print(TokenCodec(settings.secret_key, settings.jwt_public_key).issue(user.id, user.email, [role]))


async def _worker(settings: Settings, once: bool, metrics_port: int | None = None,
                  metrics_host: str = "127.0.0.1") -> None:
    import signal

    # A worker counts on its own (--metrics-port): in an app's multiprocess directory its samples
    # would be summed into the app's scrapes too. Before anything imports prometheus_client.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from db.engine import Database
    from paygate.bootstrap import close_services
    from paygate.events import RedisBus
    from paygate.gc_tuning import PAUSES, settle
    from paygate.logs import configure_logging
    from paygate.tracing import instrument_engine, instrument_httpx, tracer_provider_from_environment
    from paygate.worker import worker_services

    configure_logging()
    settings.warn_about_defaults()
    db = Database.from_url(settings.database_url)
    if metrics_port is not None:
        _serve_worker_metrics(db, metrics_host, metrics_port)
    tracing = tracer_provider_from_environment()
    if tracing is not None:  # a trace per job and pass: its SQL and provider calls
        instrument_engine(db.engine, tracing)
        instrument_httpx(tracing)
    services = worker_services(settings, db)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # finish the jobs in hand, then exit
        loop.add_signal_handler(signum, stop.set)
    settle()  # start-up is over: freeze what it built (paygate/gc_tuning.py)
    try:
        async with PAUSES.flushing():
            await _work(db, services, stop, once)
    finally:
        await close_services(services)
        if isinstance(services.events, RedisBus):
            await services.events.close()
        await db.dispose()
        if tracing is not None:
            tracing.shutdown()


async def _work(db, services, stop: asyncio.Event, once: bool) -> None:
    from paygate.jobs_engine import run_jobs
    from paygate.worker import run_once

    if once:
        moved = await run_once(db, services)
        await run_jobs(db, services, stop, drain=True)
        print(moved)
    else:
        await run_jobs(db, services, stop)


def _serve_worker_metrics(db, host: str, port: int) -> None:
    """The worker's own /metrics (its provider calls, its pool), on a port of its own: a worker
    process answers no HTTP otherwise (paygate/metrics.py)."""
    from prometheus_client import start_http_server

    from paygate.metrics import count_statements, process_started, watch_pool

    watch_pool(db.engine)
    count_statements(db.engine)
    process_started()
    start_http_server(port, addr=host)


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from paygate.logs import logging_config

    if not settings.is_production:
        print(f"GraphiQL: http://{host}:{port}/graphql", flush=True)
    metrics_dir = _metrics_dir(workers)
    # log_config is applied by uvicorn in this process and in every worker process it starts.
    # proxy_headers off: the app itself believes X-Forwarded-For only from
    # PAYGATE_FORWARDED_ALLOW_IPS (create_app), whatever server runs it; left on, uvicorn would
    # believe it from 127.0.0.1 (its default) before the app sees the request.
    try:
        uvicorn.run("paygate.app:embedded_app", factory=True, host=host, port=port, workers=workers,
                    log_config=logging_config(), access_log=False, proxy_headers=False, lifespan="on")
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(workers: int) -> str | None:
    """Several worker processes answer /metrics with the sum of all of them (prometheus_client's
    multiprocess mode, paygate/metrics.py): they share a directory named by
    PROMETHEUS_MULTIPROC_DIR, which must be set before any of them imports prometheus_client and
    emptied between runs (a killed process's files would be counted again). An operator's own
    directory is emptied here; else a fresh one is made, and removed when the server stops
    (returned for that)."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        os.makedirs(configured, exist_ok=True)
        for stale in glob.glob(os.path.join(configured, "*.db")):
            os.remove(stale)
        return None
    if workers < 2:
        return None
    made = tempfile.mkdtemp(prefix="paygate-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made  # inherited by the worker processes uvicorn spawns
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="paygate", description="paygate: a payments gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("demo", help="load the demo shop (idempotent) and print its users' tokens")
    token = sub.add_parser("token", help="print a bearer token for local use")
    token.add_argument("user", help="the user's email or integer id")
    token.add_argument("--role", required=True, choices=["customer", "seller", "staff", "admin"])
    worker = sub.add_parser("worker", help="run the background jobs (reconciliation, reservation expiry, …)")
    worker.add_argument("--once", action="store_true",
                        help="run every periodic job once, then the queued jobs that are due, then exit")
    worker.add_argument("--metrics-port", type=int, help="serve this worker's Prometheus metrics on this port")
    worker.add_argument("--metrics-host", default="127.0.0.1", help="the address --metrics-port binds")
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        from gql.schema import sdl

        sys.stdout.write(sdl())
        return
    try:
        settings = Settings()
    except ValueError as exc:
        sys.exit(f"paygate: bad settings: {exc}")
    match args.command:
        case "serve":
            _serve(settings, args.host, args.port, args.workers)
        case "migrate":
            _migrate(settings)
        case "demo":
            asyncio.run(_demo(settings))
        case "token":
            asyncio.run(_token(settings, args.user, args.role))
        case "worker":
            asyncio.run(_worker(settings, args.once, args.metrics_port, args.metrics_host))


if __name__ == "__main__":
    main()
