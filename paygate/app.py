"""The ASGI application factory: routes, lifespan, and the outermost middleware."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from db.engine import Database
from db.users import UserMirror
from domain.payments.provider import Providers
from gql.schema import build_schema
from paygate import jobs_engine
from paygate.auth import TokenCodec
from paygate.body_limits import BodyLimitsMiddleware
from paygate.bootstrap import build_services, close_services
from paygate.dashboard import dashboard_routes
from paygate.dummy_pages import dummy_routes
from paygate.events import RedisBus, build_bus
from paygate.forwarding import proxies_trusted
from paygate.graphql_view import GraphQLView
from paygate.idempotency import IdempotencyMiddleware
from paygate.metrics import metrics_endpoint
from paygate.middleware import AuthenticationMiddleware, RequestContextMiddleware
from paygate.ratelimit import RateLimitMiddleware, parse_rate
from paygate.settings import Settings
from rest_compat import apis, mounts
from rest_compat.openapi import document as openapi_document

log = logging.getLogger("paygate.app")


def create_app(settings: Settings | None = None, *, db: Database | None = None,
               extra_routes: list[BaseRoute] | None = None, run_jobs: bool = False,
               providers: Providers | None = None) -> Starlette:
    """The app. With `run_jobs`, the background jobs of `paygate worker` run inside this process,
    from the same queue (the embedded SQLite setup, where no separate `paygate worker` runs).
    `providers` replaces the registry the settings make (tests inject providers of their own)."""
    settings = settings or Settings()
    owns_db = db is None
    db = db or Database.from_url(settings.database_url)
    tokens = TokenCodec(settings.secret_key, settings.jwt_public_key)
    events = build_bus(settings.redis_url)
    services = build_services(settings, db, events, providers=providers)  # one set: GraphQL, REST and the jobs
    graphql = GraphQLView(build_schema(production=settings.is_production), db=db, tokens=tokens, settings=settings,
                          services=services)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        try:
            await db.ping()
        except Exception:
            log.exception("readiness check: database did not answer")
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    rest = apis()
    spec = openapi_document(op for api in rest for op in api.operations)

    async def openapi_json(_: Request) -> JSONResponse:
        return JSONResponse(spec)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        settings.warn_about_defaults()
        if isinstance(events, RedisBus):
            await events.start()
        stop_jobs = asyncio.Event()
        jobs = asyncio.create_task(jobs_engine.run_jobs(db, services, stop_jobs)) if run_jobs else None
        yield
        if jobs is not None:
            stop_jobs.set()
            await jobs
        await events.close()
        await close_services(services)
        if owns_db:
            await db.dispose()

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *dummy_routes(),
        *mounts(rest),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *dashboard_routes(),
        *(extra_routes or []),
    ]
    # Outermost first: request id and logs, then the caller, then its rate limit (a refused
    # request claims no key), then idempotency (keyed by caller).
    middleware = [*proxies_trusted(settings.trusted_proxies), Middleware(RequestContextMiddleware),
                  Middleware(BodyLimitsMiddleware),  # size and JSON depth, before anything reads the body
                  Middleware(AuthenticationMiddleware, tokens=tokens, users=UserMirror(db)),
                  Middleware(RateLimitMiddleware, limit=parse_rate(settings.rate_limit),
                             redis_url=settings.redis_url),
                  Middleware(IdempotencyMiddleware, db=db, tokens=tokens)]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.settings = settings
    app.state.db = db
    app.state.tokens = tokens
    app.state.services = services
    return app


def embedded_app() -> Starlette:
    """What `paygate serve` runs: on SQLite (one process, `make run`) the jobs run inside it; on
    PostgreSQL they belong to `paygate worker` processes."""
    settings = Settings()
    return create_app(settings, run_jobs=settings.database_url.startswith("sqlite"))
