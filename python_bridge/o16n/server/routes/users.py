"""GET /users/me (anybody signed in) and GET /users (Owners): o16n extensions, not 9.1 routes.

They say who the caller is to o16n: the id services and sessions are owned under, the role, the
provider the user signs in through and the group or claim the role came from.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..auth.accounts import all_users, describe
from ..errors import Forbidden, Unauthorized
from ..http import json_response
from ..middleware import caller_of
from ..state import state_of
from ..store.models import User


async def me(request: Request) -> Response:
    caller = caller_of(request)

    def read(db: Session) -> dict[str, object] | None:
        user = db.get(User, caller.user_id)
        return describe(user) if user is not None else None

    answer = await state_of(request).db.run(read)
    if answer is None:  # removed since its token was checked
        raise Unauthorized("this user no longer exists")
    answer["role"] = caller.role  # the role this very token carries (a directory change may be pending)
    return json_response(answer)


async def list_users(request: Request) -> Response:
    if not caller_of(request).is_owner:
        raise Forbidden("listing users needs the Owner role")
    answer = await state_of(request).db.run(lambda db: [describe(u) for u in all_users(db)])
    return json_response(answer)


routes = [
    Route("/users/me", me, methods=["GET"]),
    Route("/users", list_users, methods=["GET"]),
]
