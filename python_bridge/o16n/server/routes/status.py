"""GET /status: is this node healthy, with its database and worker pools."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.routing import Route

from ... import __version__
from ..http import json_response
from ..state import state_of


async def status(request: Request):
    state = state_of(request)
    await state.caller(request)
    settings = state.settings

    def ping(db) -> bool:
        return db.execute(text("SELECT 1")).scalar() == 1

    try:
        database_ok = await state.db(ping)
    except Exception:
        database_ok = False
    sessions = state.session_workers.counts()
    pools = state.pools.stats()
    backend = {
        "statusCode": "pass",
        "details": {
            "pythonMaxPoolSize": settings.pool_max_size,
            "pythonCurrentPoolSize": pools["workers"],
            "pythonActiveShellCount": pools["busy"] + sessions["busy"],
            "pythonCanOpenShell": "True" if sessions["sessions"] < settings.max_sessions else "False",
            "pythonSessionCount": sessions["sessions"],
            "pythonServicePoolCount": pools["pools"],
            "spareWorkers": len(state.runtime.factory.spares),
            "workerSandbox": state.runtime.plan.applied,
            "workerIsolation": state.runtime.sandbox_report(),
            "apiVersion": "1.0",
        },
    }
    database = {
        "statusCode": "pass" if database_ok else "fail",
        "details": {
            "type": state.engine.dialect.name,
            "name": state.engine.url.database or "",
            "state": "Open" if database_ok else "Unavailable",
        },
    }
    overall = "pass" if database_ok else "fail"
    return json_response(
        {
            "statusCode": overall,
            "details": {"version": __version__, "logPath": "", "dataDir": str(settings.data_dir)},
            "components": {
                "database": database,
                "backends": {"statusCode": "pass", "components": {state.node_url: backend}},
                "authentication": {
                    "statusCode": "pass",
                    "details": {"type": "local", "accessTokenLifetime": settings.access_token_lifetime},
                },
            },
        }
    )


routes = [Route("/status", status, methods=["GET"])]
