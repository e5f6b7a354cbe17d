"""The domain layer without HTTP: the catalog's and the session service's rules and their effects on
the spec cache, the pools, the blobs, batch executions and the session rows. Real SQLite, a real
artifact store and real worker processes; only the HTTP layer is left out."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from o16n.server.auth.users import add_user
from o16n.server.config import Settings
from o16n.server.domain.access import Caller
from o16n.server.domain.requests import ExecuteRequest, ServiceDefinition
from o16n.server.errors import ExistsAlready, Forbidden, Gone, NotFound, TooManyRequests
from o16n.server.http import Fields
from o16n.server.state import ServerState
from o16n.server.store.models import BatchExecution, SessionRecord
from o16n.wire.types import Parameter

DOUBLE = ServiceDefinition(code="y = x * 2", inputs=(Parameter("x", "integer"),), outputs=(Parameter("y", "integer"),))


def run(scenario: Callable[[ServerState, dict[str, Caller]], Awaitable[None]], tmp_path: Path, **settings: Any) -> None:
    """Build the server's parts on a fresh data dir, run `scenario` with callers per role, close."""
    state = ServerState(Settings(data_dir=tmp_path / "data", spare_workers=0, **settings))

    def users() -> dict[str, Caller]:
        with state.db.sessions.begin() as db:
            made = {role: add_user(db, role.lower(), "pw", role) for role in ("Owner", "Contributor", "Reader")}
            made["Other"] = add_user(db, "other", "pw", "Contributor")
            return {k: Caller(u.id, u.username, u.role, "grant") for k, u in made.items()}

    callers = users()

    async def main() -> None:
        await state.start()
        try:
            await scenario(state, callers)
        finally:
            await state.close()

    asyncio.run(main())


async def make_snapshot(state: ServerState, caller: Caller, content: bytes) -> str:
    temp = state.settings.data_dir / "upload.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("files/data.txt", content)
    temp.write_bytes(buffer.getvalue())
    digest, size = state.artifacts.put_blob(temp)
    return (await state.snapshots.create(caller, None, digest, size)).snapshot.id


def test_publish_list_and_consume_spec(tmp_path):
    async def scenario(state: ServerState, who: dict[str, Caller]) -> None:
        version = await state.catalog.publish(who["Contributor"], "Double", "v1", DOUBLE)
        assert version == "v1"
        views = await state.catalog.list_services(who["Reader"])
        assert [(v.service.name, v.service.version) for v in views] == [("Double", "v1")]
        as_reader = views[0].to_json()
        assert as_reader["code"] == "" and as_reader["myPermissionOnService"] == "read only"
        assert (await state.catalog.get(who["Contributor"], "Double", "v1")).to_json()["code"] == "y = x * 2"
        spec = await state.catalog.spec("Double", "v1")
        assert spec.inputs == (Parameter("x", "integer"),) and spec.outputs == {"y": "integer"}
        assert ("Double", "v1") in state.pools.pools  # the first worker is started right away
        # A GUID version without a name; the name belongs to its first publisher.
        generated = await state.catalog.publish(who["Contributor"], "Double", None, DOUBLE)
        assert len(generated) == 36
        with pytest.raises(Forbidden):
            await state.catalog.publish(who["Other"], "Double", "v2", DOUBLE)
        with pytest.raises(ExistsAlready) as taken:
            await state.catalog.publish(who["Owner"], "Double", "v1", DOUBLE)
        assert taken.value.status == 403
        with pytest.raises(Forbidden):
            await state.catalog.publish(who["Reader"], "Mine", "v1", DOUBLE)

    run(scenario, tmp_path)


def test_patch_forgets_the_cache_and_replaces_the_pool_only_when_the_code_changes(tmp_path):
    async def scenario(state: ServerState, who: dict[str, Caller]) -> None:
        owner = who["Contributor"]
        await state.catalog.publish(owner, "Double", "v1", DOUBLE)
        first_pool = state.pools.pools[("Double", "v1")]
        cached = await state.catalog.spec("Double", "v1")
        assert state.catalog.cache.get("Double", "v1") is cached

        described = ServiceDefinition.parse(Fields({"description": "twice"}), partial=True)
        await state.catalog.patch(owner, "Double", "v1", described)
        assert (await state.catalog.spec("Double", "v1")).description == "twice"
        assert state.pools.pools[("Double", "v1")] is first_pool  # same code: warm workers kept
        assert (await state.catalog.spec("Double", "v1")).code == "y = x * 2"  # a patch keeps what it lacks

        recoded = ServiceDefinition.parse(Fields({"code": "y = x * 3"}), partial=True)
        await state.catalog.patch(owner, "Double", "v1", recoded)
        assert (await state.catalog.spec("Double", "v1")).code == "y = x * 3"
        assert state.pools.pools[("Double", "v1")] is not first_pool and first_pool.retired

        with pytest.raises(Forbidden):
            await state.catalog.patch(who["Other"], "Double", "v1", described)
        with pytest.raises(NotFound):
            await state.catalog.patch(owner, "Double", "v9", described)

    run(scenario, tmp_path)


def test_delete_drops_cache_pool_blob_and_batches(tmp_path):
    async def scenario(state: ServerState, who: dict[str, Caller]) -> None:
        owner = who["Contributor"]
        snapshot_id = await make_snapshot(state, owner, b"lookup table")
        definition = ServiceDefinition(code="y = x", inputs=(Parameter("x", "integer"),),
                                       outputs=(Parameter("y", "integer"),), snapshot_id=snapshot_id)
        await state.catalog.publish(owner, "Lookup", "v1", definition)
        spec = await state.catalog.spec("Lookup", "v1")
        blob = Path(spec.snapshot_path or "")
        assert blob.is_file()
        await state.snapshots.delete(owner, snapshot_id)
        assert blob.is_file()  # the service still refers to it

        execution = await state.batches.start(owner, "Lookup", "v1", [{"x": i} for i in range(3)], 1)
        await state.catalog.delete(owner, "Lookup", "v1")
        assert not blob.exists()  # nobody refers to it any more
        assert ("Lookup", "v1") not in state.pools.pools
        assert execution not in state.batches.tasks
        with pytest.raises(NotFound):
            await state.catalog.spec("Lookup", "v1")
        rows = await state.db.run(lambda db: db.scalars(select(BatchExecution.id)).all())
        assert execution not in rows

    run(scenario, tmp_path)


def test_a_session_and_its_row_change_together(tmp_path):
    def rows(state: ServerState) -> Awaitable[list[str]]:
        return state.db.run(lambda db: list(db.scalars(select(SessionRecord.id)).all()))

    async def scenario(state: ServerState, who: dict[str, Caller]) -> None:
        me = who["Contributor"]
        session_id = await state.sessions.create(me, "s", None)
        assert session_id in state.sessions.live and await rows(state) == [session_id]
        with pytest.raises(NotFound):
            await state.sessions.own(who["Other"], session_id)
        await state.sessions.close(me, session_id)
        assert session_id not in state.sessions.live and await rows(state) == []

        # A worker that dies takes its row with it, and the session is Gone.
        session_id = await state.sessions.create(me, None, None)
        state.sessions.live[session_id].worker.kill()
        with pytest.raises(Gone):
            await state.sessions.execute(me, session_id, ExecuteRequest("1", {}, []))
        assert session_id not in state.sessions.live and await rows(state) == []

        # A row that cannot be written (no such user) leaves no process behind.
        ghost = Caller(10_000, "ghost", "Contributor", "grant")
        with pytest.raises(IntegrityError):
            await state.sessions.create(ghost, None, None)
        assert state.sessions.live == {} and await rows(state) == []

        with pytest.raises(Forbidden):
            await state.sessions.create(who["Reader"], None, None)

    run(scenario, tmp_path)


def test_session_caps_per_user_and_per_node(tmp_path):
    async def scenario(state: ServerState, who: dict[str, Caller]) -> None:
        await state.sessions.create(who["Contributor"], None, None)
        with pytest.raises(TooManyRequests) as mine:
            await state.sessions.create(who["Contributor"], None, None)
        assert mine.value.limit == "max_sessions_per_user" and mine.value.status == 429
        await state.sessions.create(who["Other"], None, None)
        with pytest.raises(TooManyRequests) as node:
            await state.sessions.create(who["Owner"], None, None)
        assert node.value.limit == "max_sessions"

    run(scenario, tmp_path, max_sessions=2, max_sessions_per_user=1)
