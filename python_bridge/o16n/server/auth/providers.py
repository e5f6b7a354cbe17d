"""What a sign-in provider is, seen from the Authenticator.

Two kinds (the local users table is the third, built into TokenService):

* a `PasswordProvider` checks a user name and password (POST /login) and can look the account up
  again later (at each refresh) to see that it still exists, is enabled, and which groups it has;
* a `TokenProvider` verifies a bearer token that someone else issued (OIDC).

Both describe the person as an `Identity`; `roles.RoleMap` turns its groups into an o16n role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import Unavailable


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a directory or an identity provider says someone is."""

    provider: str  # "ldap" | "oidc"
    external_id: str  # immutable: entryUUID / objectGUID, or the oid / sub claim; ownership hangs on it
    name: str  # the sign-in name (uid, sAMAccountName) or the token's readable name
    display_name: str
    groups: tuple[str, ...]  # group DNs, or the values of the roles claim


class DirectoryUnavailable(Unavailable):
    """The directory cannot be reached or did not answer in time (503; local users still sign in)."""


class PasswordProvider(Protocol):
    name: str

    def check_password(self, username: str, password: str) -> Identity | None:
        """The identity behind a correct password; None if the provider knows no such user.

        Raises Unauthorized for a wrong password, DirectoryUnavailable when it cannot tell.
        """
        ...

    def lookup(self, name: str, external_id: str, *, with_groups: bool) -> Identity | None:
        """The account again (without its password): None if it is gone, disabled, or now someone else.

        `with_groups=False` may skip reading groups (the answer's `groups` is then empty).
        """
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    identity: Identity
    expires_at: float  # epoch seconds (the token's exp)
    token_id: str  # jti, or a digest of the token: names the Caller's grant


class TokenProvider(Protocol):
    name: str
    issuer: str

    def verify(self, token: str) -> VerifiedToken:
        """Check signature, issuer, audience, lifetime and algorithm; Unauthorized otherwise."""
        ...

    def close(self) -> None: ...
