"""What every resolver gets: the caller, the database's read side, the app's services and the
request's data loaders (built lazily, one set per HTTP request)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from db.engine import Database
from domain.identity import Actor
from domain.ports import UnitOfWork
from domain.services import Services
from gql.resolvers.loaders import Loaders


@dataclass
class Context:
    request: Any
    response: Any
    actor: Actor | None
    db: Database
    services: Services  # the app's one set, built in create_app
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload

    def new_uow(self) -> UnitOfWork:
        return self.services.uow()

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db)

    def forget_loaded(self) -> None:
        """Drop the loaders' caches: a subscription's context lives as long as its connection,
        and each update must read nested objects fresh."""
        self.__dict__.pop("loaders", None)
