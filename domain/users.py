"""A user of the gateway: a buyer, a seller, staff or an admin of the host application."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.identity import Role


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    roles: frozenset[Role]
    created_at: datetime
