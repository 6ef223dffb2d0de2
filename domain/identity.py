"""Who is acting: the user id and roles a verified bearer token carries.

Authorization decisions in the domain are made on an Actor, never on a web request.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import NotAllowedError


class Role(StrEnum):
    CUSTOMER = "customer"
    SELLER = "seller"
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    email: str | None
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_staff(self) -> bool:
        """Staff and admins see every object (admins also do what only admins may)."""
        return self.has(Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def primary_role(self) -> str:
        for role in (Role.ADMIN, Role.STAFF, Role.SELLER, Role.CUSTOMER):
            if role in self.roles:
                return role.value
        return "none"


def customers_only(actor: Actor, what: str) -> None:
    """Shopping is a customer's: a seller or staff member shops with a token that also carries
    the customer role. Use cases call this first; the surfaces only authenticate."""
    if not actor.has(Role.CUSTOMER):
        raise NotAllowedError(f"only customers may {what}")


def parse_roles(values: object) -> frozenset[Role]:
    """Roles from a token claim: unknown role names are dropped, not trusted."""
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    if not isinstance(values, (list, tuple, set, frozenset)):
        return frozenset()
    known = {r.value for r in Role}
    return frozenset(Role(v) for v in values if isinstance(v, str) and v in known)
