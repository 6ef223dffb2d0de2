"""/graphql: Strawberry's ASGI view behind a bearer-token check.

A token that is present but can't be trusted answers 401 for the whole request: nothing in a
request with a forged or expired token should run. No token at all is an anonymous caller, which
the resolvers refuse field by field where the field needs one.

A query Strawberry has already accepted once is answered by its compiled plan without the rest of
Strawberry's view (paygate/graphql_direct.py), and a mutation of a document it has accepted once
by graphql-core alone (paygate/graphql_mutations.py), when the app allows it (`direct_queries`).
"""
from __future__ import annotations

import json

from cross_web import HTTPException
from starlette._utils import get_route_path
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET

from db.engine import Database
from domain.services import Services
from gql.context import Context
from paygate.auth import AuthError, TokenCodec, bearer_token
from paygate.graphiql import page as graphiql_page
from paygate.graphql_direct import DirectQueries
from paygate.graphql_mutations import SUB_RESPONSE, DirectMutations
from paygate.settings import Settings
from rest_compat.json_body import BadJson, read_json

NOT_AN_OBJECT = 'a GraphQL request must be a JSON object, like {"query": "{ me { id } }"}'


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema, *, db: Database, tokens: TokenCodec, settings: Settings,
                 services: Services, direct_queries: bool = True) -> None:
        graphiql = not settings.is_production
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None,
                         allow_queries_via_get=graphiql, keep_alive=True, keep_alive_interval=15)
        self.db = db
        self.tokens = tokens
        self.services = services
        self.direct = DirectQueries(self) if direct_queries and DirectQueries.available(schema) else None
        self.mutations = DirectMutations.for_view(self) if self.direct is not None else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            try:
                if state.get("auth_error"):  # AuthenticationMiddleware refused the token
                    raise AuthError(state["auth_error"])
                if "actor" not in state:  # mounted without that middleware: verify here
                    token = bearer_token(HTTPConnection(scope).headers.get("authorization"))
                    state["actor"] = self.tokens.verify(token) if token else None
            except AuthError as exc:
                body = {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]}
                await Response(json.dumps(body), status_code=401, media_type="application/json",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})(scope, receive, send)
                return
            request = Request(scope, receive)
            if self.direct is not None and scope["method"] == "POST":
                post = await self.direct.read(request)
                if post is not None:
                    mutations = self.mutations
                    known = mutations.mutation(post) if mutations is not None else None
                    direct: Response | None
                    if mutations is not None and known is not None:
                        direct = await mutations.answer(request, post, known)
                    else:
                        direct = await self.direct.answer(request, post)
                    if direct is not None:
                        await direct(scope, receive, send)
                        return
            # As Strawberry's own view, but a request it refuses (not JSON, no query, wrong method)
            # is answered in GraphQL's error shape rather than as plain text.
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = _refused(exc.status_code, exc.reason)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL with its assets from this server (paygate/graphiql.py), not from a CDN."""
        return graphiql_page()

    def decode_json(self, data: str | bytes) -> dict:
        """Request bodies, their `variables` / `extensions`, and WebSocket messages: the one reader
        (depth, NaN, NUL, surrogates), and a JSON object only: `1`, `null` or `"str"` would reach
        Strawberry's `data.get(...)` and fail as an internal error (or drop the WebSocket)."""
        try:
            value = read_json(data)
        except BadJson as exc:
            raise json.JSONDecodeError(str(exc), "", 0) from None
        if not isinstance(value, dict):
            raise json.JSONDecodeError(NOT_AN_OBJECT, "", 0)
        return value

    def parse_json(self, data: str | bytes) -> dict:
        try:
            return self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, exc.msg) from None

    async def get_sub_response(self, request) -> Response:
        # Verify mode hands Strawberry the one a mutation answered directly wrote to.
        replayed = SUB_RESPONSE.get()
        return replayed if replayed is not None else await super().get_sub_response(request)

    async def get_context(self, request, response) -> Context:
        # A WebSocket's caller is known only at connection_init (on_ws_connect, below).
        actor = None if isinstance(request, WebSocket) else request.scope.get("state", {}).get("actor")
        return Context(request=request, response=response, actor=actor, db=self.db, services=self.services)

    async def on_ws_connect(self, context: Context):
        """graphql-transport-ws: the token comes in connection_init's payload, as browsers can't
        set headers on a WebSocket. A bad token closes the connection (4403)."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if header is None and params.get("token"):
            header = f"Bearer {params['token']}"
        try:
            token = bearer_token(header if isinstance(header, str) else None)
            context.actor = self.tokens.verify(token) if token else None
        except AuthError:
            raise ConnectionRejectionError({"message": "invalid token"}) from None
        return UNSET


_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _refused(status: int, message: str) -> Response:
    code = _CODES.get(status, "BAD_REQUEST")
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


class GraphQLPosts:
    """The innermost of the app's middleware: `POST /graphql` goes to its route directly, with the
    scope Starlette's router would have given it (`router`, `route`, `endpoint`, `path_params`),
    past Starlette's exception middleware and router (a tenth of a small query's CPU, measured).
    Neither has anything to do for it: the view is a plain ASGI app that answers every refusal
    itself and lets other exceptions through, as the exception middleware would (to
    RequestContextMiddleware's last resort). Anything else goes on to the router."""

    def __init__(self, app, route: Route) -> None:
        self.app = app
        self.route = route
        self.path = route.path

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and get_route_path(scope) == self.path:
            route = self.route
            if "router" not in scope:
                scope["router"] = scope["app"].router
            scope["route"] = route
            scope["endpoint"] = route.endpoint
            scope["path_params"] = dict(scope.get("path_params", {}))
            await route.handle(scope, receive, send)
            return
        await self.app(scope, receive, send)
