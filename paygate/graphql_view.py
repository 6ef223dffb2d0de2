"""/graphql: Strawberry's ASGI view behind a bearer-token check.

A token that is present but can't be trusted answers 401 for the whole request: nothing in a
request with a forged or expired token should run. No token at all is an anonymous caller, which
the resolvers refuse field by field where the field needs one.
"""
from __future__ import annotations

import json

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from db.engine import Database
from db.uow import SqlUnitOfWork
from gql.context import Context
from paygate.auth import AuthError, TokenCodec, bearer_token
from paygate.logs import request_id_var
from paygate.settings import Settings


class GraphQLView(GraphQL):
    def __init__(self, schema, *, db: Database, tokens: TokenCodec, settings: Settings,
                 services: dict[str, object]) -> None:
        graphiql = not settings.is_production
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None,
                         allow_queries_via_get=graphiql, keep_alive=True, keep_alive_interval=15)
        self.db = db
        self.tokens = tokens
        self.services = {"settings": settings, **services}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            try:
                if "actor" not in state:  # an outer layer may have verified the token already
                    token = bearer_token(HTTPConnection(scope).headers.get("authorization"))
                    state["actor"] = self.tokens.verify(token) if token else None
            except AuthError as exc:
                body = {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]}
                await Response(json.dumps(body), status_code=401, media_type="application/json",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def get_context(self, request, response) -> Context:
        if isinstance(request, WebSocket):
            actor = None  # subscriptions authenticate on connection_init (see the payments issue)
        else:
            actor = request.scope.get("state", {}).get("actor")
        request_id = request_id_var.get()
        return Context(request=request, response=response, actor=actor, db=self.db,
                       new_uow=lambda: SqlUnitOfWork(self.db, request_id), services=self.services)
