"""Users: the caller (`me`) and the public face of a seller."""
from __future__ import annotations

import strawberry

from domain.users import User as DomainUser
from gql.schema.relay import Node, to_global_id


@strawberry.type
class User(Node):
    legacy_id: int
    email: str
    name: str
    roles: list[str]

    @classmethod
    def from_domain(cls, user: DomainUser) -> User:
        return cls(id=strawberry.ID(to_global_id("User", user.id)), legacy_id=user.id, email=user.email,
                   name=user.name, roles=sorted(role.value for role in user.roles))


@strawberry.type(description="What any shopper may see of a seller.")
class Seller:
    legacy_id: int
    name: str | None
