"""The ASGI application factory: routes, lifespan, and the outermost middleware."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from db import queries
from db.engine import Database
from db.users import UserMirror
from domain.payments.provider import Providers
from gql.schema import build_schema
from paygate import gc_tuning, jobs_engine
from paygate.auth import TokenCodec
from paygate.body_limits import BodyLimitsMiddleware
from paygate.bootstrap import build_services, close_services
from paygate.dashboard import dashboard_routes
from paygate.dummy_pages import dummy_routes
from paygate.events import RedisBus, build_bus
from paygate.forwarding import proxies_trusted
from paygate.graphiql import routes as graphiql_routes
from paygate.graphql_metrics import GraphQLMetrics
from paygate.graphql_view import GraphQLPosts, GraphQLView
from paygate.idempotency import IdempotencyMiddleware
from paygate.metrics import (
    STATEMENTS,
    QueueProbe,
    count_statements,
    metrics_endpoint_for,
    process_started,
    process_stopping,
    watch_pool,
)
from paygate.middleware import AuthenticationMiddleware, RequestContextMiddleware
from paygate.queue_stats import job_queue_stats
from paygate.ratelimit import RateLimitMiddleware, parse_rate
from paygate.readiness import Check, JobsRunning, close_checks, readiness_checks, readyz_endpoint
from paygate.settings import Settings
from paygate.tracing import (
    asgi_middleware,
    graphql_tracing,
    instrument_engine,
    instrument_httpx,
    tracer_provider_from_environment,
)
from rest_compat import apis, mounts
from rest_compat.openapi import document as openapi_document

log = logging.getLogger("paygate.app")


def create_app(settings: Settings | None = None, *, db: Database | None = None,
               extra_routes: list[BaseRoute] | None = None, run_jobs: bool = False,
               providers: Providers | None = None, queue_probe: QueueProbe | None = None,
               readiness: list[Check] | None = None,
               tracer_provider: TracerProvider | None = None, graphql_plans: str | None = None,
               tune_gc: bool = False) -> Starlette:
    """The app. With `run_jobs`, the background jobs of `paygate worker` run inside this process,
    from the same queue (the embedded SQLite setup, where no separate `paygate worker` runs).
    `providers` replaces the registry the settings make (tests inject providers of their own);
    `queue_probe` and `readiness` replace the job queue's statistics for /metrics and the checks
    of /readyz (paygate/queue_stats.py, paygate/readiness.py); `tracer_provider` the one that
    OTEL_EXPORTER_OTLP_ENDPOINT makes (paygate/tracing.py); `graphql_plans` how queries execute
    (gql/execution: "on", "off", "verify"; the test suite sets "verify" as the default). With
    `tune_gc` (`embedded_app`, what each `paygate serve` worker process runs) the end of start-up
    freezes what it built, sets the collector's thresholds and times its pauses
    (paygate/gc_tuning.py); a process that makes many apps (the suite) leaves its collector alone
    unless it asks."""
    settings = settings or Settings()
    owns_db = db is None
    db = db or Database.from_url(settings.database_url)
    tokens = TokenCodec(settings.secret_key, settings.jwt_public_key)
    events = build_bus(settings.redis_url)
    services = build_services(settings, db, events, providers=providers)  # one set: GraphQL, REST and the jobs
    if owns_db:  # a database handed in is watched by whoever made it
        watch_pool(db.engine)
        count_statements(db.engine)
    jobs_running = JobsRunning()
    checks = readiness if readiness is not None else readiness_checks(
        db, settings.redis_url, Check("jobs", jobs_running) if run_jobs else None)
    tracing = tracer_provider or tracer_provider_from_environment()
    if owns_db and tracing is None:
        # `me`'s read skips SQLAlchemy's execution (db/queries.py), counted as a statement still;
        # not while traces are recorded: its span is SQLAlchemy's instrumentation's.
        queries.read_directly(db, STATEMENTS.labels("statement").inc)
    observers: list = [GraphQLMetrics]
    if tracing is not None:
        instrument_engine(db.engine, tracing)
        instrument_httpx(tracing)
        observers.append(graphql_tracing(tracing))
    schema = build_schema(production=settings.is_production, observers=observers, plans=graphql_plans)
    # Queries answered without Strawberry's view (paygate/graphql_direct.py) skip its schema
    # extensions: not while traces are recorded, whose GraphQL spans are an extension's.
    graphql = GraphQLView(schema, db=db, tokens=tokens, settings=settings,
                          services=services, direct_queries=tracing is None)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    rest = apis()
    spec = openapi_document(op for api in rest for op in api.operations)

    async def openapi_json(_: Request) -> JSONResponse:
        return JSONResponse(spec)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        settings.warn_about_defaults()
        process_started()
        if isinstance(events, RedisBus):
            await events.start()
        stop_jobs = asyncio.Event()
        jobs = asyncio.create_task(jobs_engine.run_jobs(db, services, stop_jobs)) if run_jobs else None
        jobs_running.task = jobs
        async with contextlib.AsyncExitStack() as gc_stack:
            if tune_gc:
                gc_tuning.settle()  # last: what start-up built is frozen
                await gc_stack.enter_async_context(gc_tuning.PAUSES.flushing())
            yield
        if jobs is not None:
            stop_jobs.set()
            await jobs
        await events.close()
        await close_checks(checks)
        await close_services(services)
        if owns_db:
            await db.dispose()
        process_stopping()
        if tracing is not None and tracer_provider is None:
            tracing.force_flush()  # the spans of the last requests, before the process ends

    graphql_route = Route("/graphql", graphql, methods=["GET", "POST"])
    routes: list[BaseRoute] = [
        graphql_route,
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz_endpoint(checks), methods=["GET"]),
        *dummy_routes(),
        *([] if settings.is_production else graphiql_routes()),  # GraphiQL's own assets
        *mounts(rest),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/metrics", metrics_endpoint_for(queue_probe or job_queue_stats(db),
                                               before_scrape=gc_tuning.PAUSES.flush if tune_gc else None),
              methods=["GET"]),
        *dashboard_routes(),
        *(extra_routes or []),
    ]
    # Outermost first: request id and logs, then the caller, then its rate limit (a refused
    # request claims no key), then idempotency (keyed by caller).
    middleware = [*([asgi_middleware(tracing)] if tracing is not None else []),
                  *proxies_trusted(settings.trusted_proxies), Middleware(RequestContextMiddleware),
                  Middleware(BodyLimitsMiddleware),  # size and JSON depth, before anything reads the body
                  Middleware(AuthenticationMiddleware, tokens=tokens, users=UserMirror(db)),
                  Middleware(RateLimitMiddleware, limit=parse_rate(settings.rate_limit),
                             redis_url=settings.redis_url),
                  Middleware(IdempotencyMiddleware, db=db, tokens=tokens),
                  Middleware(GraphQLPosts, route=graphql_route)]  # last: past Starlette's router
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
    return create_app(settings, run_jobs=settings.database_url.startswith("sqlite"), tune_gc=True)
