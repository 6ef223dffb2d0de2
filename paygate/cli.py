"""The `paygate` command (CONTRACT.md, Commands)."""
from __future__ import annotations

import argparse
import asyncio
import sys

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


async def _worker(settings: Settings, once: bool) -> None:
    import signal

    from db.engine import Database
    from paygate.bootstrap import close_services
    from paygate.events import RedisBus
    from paygate.jobs_engine import run_jobs
    from paygate.logs import configure_logging
    from paygate.worker import run_once, worker_services

    configure_logging()
    settings.warn_about_defaults()
    db = Database.from_url(settings.database_url)
    services = worker_services(settings, db)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # finish the jobs in hand, then exit
        loop.add_signal_handler(signum, stop.set)
    try:
        if once:
            moved = await run_once(db, services)
            await run_jobs(db, services, stop, drain=True)
            print(moved)
        else:
            await run_jobs(db, services, stop)
    finally:
        await close_services(services)
        if isinstance(services.events, RedisBus):
            await services.events.close()
        await db.dispose()


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from paygate.logs import logging_config

    if not settings.is_production:
        print(f"GraphiQL: http://{host}:{port}/graphql", flush=True)
    # log_config is applied by uvicorn in this process and in every worker process it starts.
    # proxy_headers off: the app itself believes X-Forwarded-For only from
    # PAYGATE_FORWARDED_ALLOW_IPS (create_app), whatever server runs it; left on, uvicorn would
    # believe it from 127.0.0.1 (its default) before the app sees the request.
    uvicorn.run("paygate.app:embedded_app", factory=True, host=host, port=port, workers=workers,
                log_config=logging_config(), access_log=False, proxy_headers=False, lifespan="on")


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
            asyncio.run(_worker(settings, args.once))


if __name__ == "__main__":
    main()
