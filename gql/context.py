"""What every resolver gets: the caller, the database's read side, a unit-of-work factory and the
request's data loaders (built lazily, one set per HTTP request)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from db.engine import Database
from domain.identity import Actor
from domain.ports import UnitOfWork
from gql.resolvers.loaders import Loaders


@dataclass
class Context:
    request: Any
    response: Any
    actor: Actor | None
    db: Database
    new_uow: Callable[[], UnitOfWork]
    services: dict[str, Any] = field(default_factory=dict)
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db)

    def forget_loaded(self) -> None:
        """Drop the loaders' caches: a subscription's context lives as long as its connection,
        and each update must read nested objects fresh."""
        self.__dict__.pop("loaders", None)
