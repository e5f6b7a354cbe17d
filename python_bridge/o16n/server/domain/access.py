"""Who is calling and what they may touch: the roles of 9.1 and the ownership rules, in one place.

Owner: everything. Contributor: publish; change and delete their own services. Reader: list and
consume. Sessions, snapshots and batch executions belong to their creator alone (an Owner also
sees other users' batch executions of a service).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Forbidden

ROLES = ("Owner", "Contributor", "Reader")


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    username: str
    role: str
    grant_id: str

    @property
    def is_owner(self) -> bool:
        return self.role == "Owner"

    @property
    def can_publish(self) -> bool:
        return self.role in ("Owner", "Contributor")

    def may_manage(self, publisher_id: int) -> bool:
        """May change or delete a service version published by `publisher_id`."""
        return self.is_owner or (self.role == "Contributor" and publisher_id == self.user_id)

    def sees_code_of(self, publisher_id: int) -> bool:
        return self.is_owner or publisher_id == self.user_id

    def require_publisher(self, what: str) -> None:
        if not self.can_publish:
            raise Forbidden(f"{what} needs the Contributor or Owner role; you are a Reader")
