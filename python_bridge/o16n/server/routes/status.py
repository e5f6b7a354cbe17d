"""GET /status (this node's health: database, workers, sessions) and GET /swagger.json (the core API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ... import __version__
from ..http import json_response
from ..middleware import caller_of
from ..state import ServerState, state_of
from ..swagger import core_openapi


async def _database_ok(state: ServerState) -> bool:
    def ping(db: Session) -> bool:
        return db.execute(text("SELECT 1")).scalar() == 1

    try:
        return await state.db.run(ping)
    except Exception:
        return False


async def status(request: Request) -> Response:
    state = state_of(request)
    settings = state.settings
    database_ok = await _database_ok(state)
    owner = caller_of(request).is_owner  # where the server keeps its files is nobody else's business
    database_name = state.db.engine.url.database or ""
    if not owner and state.db.dialect == "sqlite":
        database_name = database_name.rsplit("/", 1)[-1]
    sessions = state.sessions.counts()
    pools = state.pools.stats()
    backend: dict[str, Any] = {
        "statusCode": "pass",
        "details": {
            "nodeId": state.node,
            "pythonMaxPoolSize": settings.pool_max_size,
            "pythonCurrentPoolSize": pools["workers"],
            "pythonActiveShellCount": pools["busy"] + sessions["busy"],
            "pythonCanOpenShell": "True" if sessions["sessions"] < settings.max_sessions else "False",
            "pythonSessionCount": sessions["sessions"],
            "pythonServicePoolCount": pools["pools"],
            "spareWorkers": len(state.runtime.factory.spares),
            "workerSandbox": state.runtime.plan.applied,
            "workerIsolation": state.runtime.sandbox_report(),  # no paths in it: every role may see it
            "apiVersion": "1.0",
        },
    }
    database = {
        "statusCode": "pass" if database_ok else "fail",
        "details": {
            "type": state.db.dialect,
            "name": database_name,
            "state": "Open" if database_ok else "Unavailable",
        },
    }
    # The other nodes of the cluster, as the registry knows them (their own /status has the detail).
    others = {
        node.url + "/": {"statusCode": "pass" if node.state == "live" else "warn",
                         "details": {"state": node.state, "heartbeat": node.to_json()["heartbeatAt"],
                                     **{k: str(v) for k, v in node.capacity.items()}}}
        for node in (await state.cluster.nodes()) if node.id != state.node
    }
    details: dict[str, Any] = {"version": __version__, "logPath": ""}
    if owner:
        details["dataDir"] = str(settings.data_dir)
    return json_response(
        {
            "statusCode": "pass" if database_ok else "fail",
            "details": details,
            # o16n extension: each service environment, its size and users (docs/environments.md).
            "environments": [v.summary() for v in await state.environments.list_all()] if database_ok else [],
            "components": {
                "database": database,
                "backends": {"statusCode": "pass", "components": {state.node_url: backend, **others}},
                "authentication": {"statusCode": "pass", "details": state.auth.describe()},
            },
        }
    )


async def openapi(_request: Request) -> Response:
    return json_response(core_openapi())


routes = [
    Route("/status", status, methods=["GET"]),
    Route("/swagger.json", openapi, methods=["GET"]),
]
