"""Batch executions: many consume requests of one service run in the background, results kept in
the database, index-aligned with the submitted records.

The node that runs an execution holds a lease on it and renews it while it runs. Every node sweeps
for executions nobody holds (their lease ran out, or their node was declared dead) and takes them
over, so an execution never vanishes: it finishes, or ends as Failed. A cancel (DELETE) removes
the row and tells every node; the node running it stops at once (its workers' calls are cut).

Items travel in chunks: up to parallelCount lanes take chunks off one queue, each chunk one worker
call that runs its items one after the other exactly as single consumes (`run_many`), sized to take
about CHUNK_SECONDS, with the results saved in one transaction. A chunk whose worker died or hung is
run again item by item, so only the culprit fails. Lanes of one user run at most
`max_batch_parallel_per_user` at a time on a node, whatever the executions' parallelCount.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ...wire.errors import InputError
from ...wire.values import check_inputs
from ..artifacts import ArtifactStore
from ..cluster.bus import Event, EventBus
from ..config import Settings
from ..errors import BadRequest, NotFound
from ..runtime.pools import PoolRegistry
from ..store.db import Database
from ..store.models import BatchExecution, BatchItem, Service, utcnow
from .access import Caller
from .catalog import ServiceCatalog
from .execution import run_service, run_service_many
from .requests import check_file_name
from .specs import ServiceSpec
from .views import BatchStatusView

log = logging.getLogger("o16n.batch")
UNFINISHED = ("Pending", "Ready", "InProgress")
FINISHED = ("Complete", "Failed")
CHUNK_SECONDS = 0.1  # a batch chunk's target time on its worker: progress stays live, round trips few
CANCEL_CHECK_SECONDS = 0.5  # how often a running execution reads its row (a missed cancel event)


def _service_id(db: Session, name: str, version: str) -> int:
    service_id = db.scalar(select(Service.id).where(Service.name == name, Service.version == version))
    if service_id is None:
        raise NotFound(f"web service '{name}' version '{version}' was not found")
    return service_id


def _own_execution(db: Session, caller: Caller, name: str, version: str, execution_id: str) -> BatchExecution:
    execution = db.get(BatchExecution, execution_id)
    if (
        execution is None
        or execution.service_id != _service_id(db, name, version)
        or (execution.owner_id != caller.user_id and not caller.is_owner)
    ):
        raise NotFound(f"batch execution '{execution_id}' was not found")
    return execution


class BatchService:
    def __init__(self, settings: Settings, db: Database, catalog: ServiceCatalog, pools: PoolRegistry,
                 artifacts: ArtifactStore, bus: EventBus, node: str) -> None:
        self.settings = settings
        self.artifacts = artifacts
        self.bus = bus
        bus.subscribe(self._on_event)
        self.lease = timedelta(seconds=settings.batch_lease_seconds)
        self._sweeper: asyncio.Task[None] | None = None
        self.db = db
        self.catalog = catalog
        self.pools = pools
        self.node = node
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._per_user: dict[int, asyncio.Semaphore] = {}

    # --- the API -------------------------------------------------------------------------
    async def start(self, caller: Caller, name: str, version: str, records: Any, parallel: int) -> str:
        spec = await self.catalog.spec(name, version)
        if not isinstance(records, list) or not records:
            raise BadRequest("the body must be a non-empty JSON array with one object of inputs per item", field="body")
        checked = []
        for index, record in enumerate(records):
            try:
                checked.append(check_inputs(list(spec.inputs), record))
            except InputError as exc:
                raise BadRequest(f"item {index}: {exc}", field=exc.field) from None
        parallel = min(parallel, self.settings.max_batch_parallel)
        execution_id = str(uuid.uuid4())

        def add_rows(db: Session) -> None:
            db.add(BatchExecution(id=execution_id, service_id=_service_id(db, name, version), owner_id=caller.user_id,
                                  state="Pending", parallel_count=parallel, total=len(checked), lease_node=self.node,
                                  lease_until=utcnow() + self.lease))  # ours: no sweeper takes it
            db.flush()
            db.execute(insert(BatchItem), [{"execution_id": execution_id, "index": i, "inputs": x}
                                           for i, x in enumerate(checked)])

        await self.db.run(add_rows)
        self._launch(execution_id)
        return execution_id

    async def list_executions(self, caller: Caller, name: str, version: str) -> list[str]:
        def ids(db: Session) -> list[str]:
            query = select(BatchExecution.id).where(BatchExecution.service_id == _service_id(db, name, version))
            if not caller.is_owner:
                query = query.where(BatchExecution.owner_id == caller.user_id)
            return list(db.scalars(query.order_by(BatchExecution.created_at)).all())

        return await self.db.run(ids)

    async def status(self, caller: Caller, name: str, version: str, execution_id: str, partial: bool) -> BatchStatusView:
        def read(db: Session) -> BatchStatusView:
            execution = _own_execution(db, caller, name, version, execution_id)
            items = BatchItem.execution_id == execution.id
            if not (partial or execution.state in FINISHED):  # a progress poll: count, decode nothing
                done = db.scalar(select(func.count()).where(items, BatchItem.result.is_not(None))) or 0
                return BatchStatusView(execution.state, done, execution.total, [])
            results = list(db.scalars(select(BatchItem.result).where(items).order_by(BatchItem.index)).all())
            return BatchStatusView(execution.state, sum(1 for r in results if r is not None), execution.total, results)

        return await self.db.run(read)

    async def cancel(self, caller: Caller, name: str, version: str, execution_id: str) -> None:
        """Stop the execution and delete it with its results and files, whichever node runs it."""
        await self.db.run(lambda db: db.delete(_own_execution(db, caller, name, version, execution_id)))
        await self.bus.publish({"kind": "batch-cancelled", "id": execution_id})

    async def _on_event(self, event: Event) -> None:
        if event.get("kind") == "batch-cancelled":
            await self.forget([str(event["id"])])

    async def _item_prefix(self, caller: Caller, name: str, version: str, execution_id: str, index: str) -> str:
        await self.db.run(lambda db: _own_execution(db, caller, name, version, execution_id))
        if not index.isdigit():
            raise BadRequest("'index' must be a non-negative integer (0-based)", field="index")
        return f"batch/{execution_id}/{int(index)}"

    async def item_files(self, caller: Caller, name: str, version: str, execution_id: str, index: str) -> list[str]:
        prefix = await self._item_prefix(caller, name, version, execution_id, index)
        return await run_in_threadpool(self.artifacts.list_files, prefix)

    async def item_file(self, caller: Caller, name: str, version: str, execution_id: str, index: str,
                        file_name: str) -> Iterator[bytes]:
        """The content of one output file of one item, in chunks."""
        prefix = await self._item_prefix(caller, name, version, execution_id, index)
        check_file_name(file_name, "fileName")
        chunks = await run_in_threadpool(self.artifacts.open_file, f"{prefix}/{file_name}")
        if chunks is None:
            raise NotFound(f"file '{file_name}' was not found for this item")
        return chunks

    # --- running ---------------------------------------------------------------------------
    def _launch(self, execution_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(execution_id))
        self.tasks[execution_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(execution_id, None))

    def start_sweeping(self) -> None:
        """Every node looks for executions nobody runs (new, or their node died) and takes them over."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # the database may be away for a moment
                await self.resume_unfinished()
            await asyncio.sleep(self.settings.batch_sweep_seconds)

    async def resume_unfinished(self) -> None:
        node, running = self.node, set(self.tasks)

        def claimable(db: Session) -> list[str]:
            now = utcnow()
            # FOR UPDATE SKIP LOCKED (PostgreSQL): two nodes starting at once never claim the same one.
            rows = db.scalars(
                select(BatchExecution)
                .where(
                    BatchExecution.state.in_(UNFINISHED),
                    or_(BatchExecution.lease_until.is_(None), BatchExecution.lease_until < now),
                )
                .with_for_update(skip_locked=True)
            ).all()
            rows = [row for row in rows if row.id not in running]
            for row in rows:
                row.lease_node, row.lease_until = node, now + self.lease
            return [row.id for row in rows]

        for execution_id in await self.db.run(claimable):
            log.info("resuming batch execution %s", execution_id)
            self._launch(execution_id)

    def _user_slots(self, owner_id: int) -> asyncio.Semaphore:
        slots = self._per_user.get(owner_id)
        if slots is None:
            slots = self._per_user[owner_id] = asyncio.Semaphore(max(1, self.settings.max_batch_parallel_per_user))
        return slots

    async def _run(self, execution_id: str) -> None:
        def load(db: Session) -> tuple[int, int, str, str, list[tuple[int, Any]]] | None:
            execution = db.get(BatchExecution, execution_id)
            if execution is None:
                return None
            service = db.get(Service, execution.service_id)
            assert service is not None  # executions go with their service (ON DELETE CASCADE)
            execution.state = "InProgress"
            execution.lease_node, execution.lease_until = self.node, utcnow() + self.lease
            pending = db.execute(
                select(BatchItem.index, BatchItem.inputs).where(
                    BatchItem.execution_id == execution_id, BatchItem.result.is_(None)
                )
            ).all()
            return (execution.parallel_count, execution.owner_id, service.name, service.version,
                    [(i, x) for i, x in pending])

        loaded = await self.db.run(load)
        if loaded is None:
            return
        parallel, owner_id, name, version, pending = loaded
        queue = collections.deque(pending)
        user_slots = self._user_slots(owner_id)
        infrastructure_failed = False
        checked_at = 0.0

        async def lane() -> None:
            """One worker's share: chunks off the common queue, sized to take about CHUNK_SECONDS;
            a chunk's results are written while the next one runs."""
            size, saving = 1, None
            try:
                while queue:
                    chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
                    started = time.perf_counter()
                    done = await run_chunk(chunk)
                    elapsed = time.perf_counter() - started
                    queue.extendleft(reversed(chunk[len(done):]))  # the worker stopped early: the rest goes back
                    if saving is not None:
                        await saving
                    saving = asyncio.ensure_future(self._save(execution_id, done))
                    size = max(1, min(self.settings.batch_chunk_max_items, int(len(done) * CHUNK_SECONDS / max(elapsed, 1e-4))))
            finally:
                if saving is not None:
                    await saving

        async def run_chunk(chunk: list[tuple[int, Any]]) -> list[tuple[int, dict[str, Any]]]:
            nonlocal infrastructure_failed
            nonlocal checked_at
            async with user_slots:
                # A cancel reaches the node by the event bus at once; the row is looked at too, now and
                # then, in case an event was missed (the database is the truth).
                if time.monotonic() - checked_at > CANCEL_CHECK_SECONDS:
                    checked_at = time.monotonic()
                    if not await self.db.run(lambda db: db.get(BatchExecution, execution_id) is not None):
                        raise asyncio.CancelledError  # cancelled through another node
                status, results = await self._run_chunk(spec, [inputs for _, inputs in chunk], owner_id)
            if status != 200 and len(chunk) > 1:
                # The chunk's worker died or hung: run its items one by one, so only the culprit fails.
                results = []
                for _, inputs in chunk:
                    status, result = await self._run_item(spec, inputs, owner_id)
                    infrastructure_failed = infrastructure_failed or status not in (200, 400)
                    results.append(result)
            elif status != 200:
                infrastructure_failed = True
            return list(zip((index for index, _ in chunk), results))

        renew = asyncio.get_running_loop().create_task(self._renew_lease(execution_id))
        try:
            spec = await self.catalog.spec(name, version)
            lanes = max(1, min(parallel, self.settings.max_batch_parallel, len(pending)))
            await asyncio.gather(*(lane() for _ in range(lanes)))
            final = "Failed" if infrastructure_failed else "Complete"
        except asyncio.CancelledError:
            raise  # shutdown or delete: the lease says who picks it up again
        except Exception:
            log.exception("batch execution %s failed", execution_id)
            final = "Failed"
        finally:
            renew.cancel()
        await self.db.run(lambda db: _finish(db, execution_id, final))

    async def _run_chunk(self, spec: ServiceSpec, records: list[dict[str, Any]],
                         owner_id: int) -> tuple[int, list[dict[str, Any]]]:
        """Items on one worker in one call, as consumes of the execution's owner; a fair-share cap
        (429) means wait, not fail."""
        delay = 0.05
        while True:
            status, replies = await run_service_many(self.pools, spec, records, owner_id)
            if status != 429:
                return status, [reply.to_result() for reply in replies]
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def _run_item(self, spec: ServiceSpec, inputs: dict[str, Any], owner_id: int) -> tuple[int, dict[str, Any]]:
        """One item, as a consume of the execution's owner; a fair-share cap (429) means wait, not fail."""
        delay = 0.05
        while True:
            status, reply = await run_service(self.pools, spec, inputs, owner_id)
            if status != 429:
                return status, reply.to_result()
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def _save(self, execution_id: str, done: list[tuple[int, dict[str, Any]]]) -> None:
        """A chunk's results (and output files) in one transaction."""
        for index, result in done:
            if result.get("outputFiles"):
                await run_in_threadpool(self._store_files, execution_id, index, result["outputFiles"])
        await self.db.run(lambda db: _save_items(db, execution_id, done))

    async def _renew_lease(self, execution_id: str) -> None:
        """Keep the lease while running; a lease another node took (ours ran out) stops this run."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)

            def renew(db: Session) -> bool:
                renewed = db.execute(update(BatchExecution)
                                     .where(BatchExecution.id == execution_id, BatchExecution.lease_node == self.node)
                                     .values(lease_until=utcnow() + self.lease))
                return int(renewed.rowcount) == 1  # type: ignore[attr-defined]

            try:
                kept = await self.db.run(renew)
            except Exception:
                continue  # the database may be away for a moment; the lease still runs
            if not kept:
                log.warning("batch execution %s: another node took it over; stopping here", execution_id)
                task = self.tasks.get(execution_id)
                if task is not None:
                    task.cancel()
                return

    def _store_files(self, execution_id: str, index: int, files: dict[str, str | None]) -> None:
        for name, content in files.items():
            if content is not None:  # a declared output file the code did not write
                self.artifacts.put_file(f"batch/{execution_id}/{index}/{Path(name).name}", base64.b64decode(content))

    async def forget(self, execution_ids: list[str]) -> None:
        """Stop executions (their rows are already gone or going) and remove their files."""
        for execution_id in execution_ids:
            task = self.tasks.pop(execution_id, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await run_in_threadpool(self.artifacts.delete_files, f"batch/{execution_id}")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _save_items(db: Session, execution_id: str, done: list[tuple[int, dict[str, Any]]]) -> None:
    # One executemany by primary key; rows of a cancelled execution are gone and match nothing.
    table = cast(Table, BatchItem.__table__)
    items = table.c
    db.execute(update(table).where(items.execution_id == bindparam("e"), items.index == bindparam("i"))
               .values(result=bindparam("r")), [{"e": execution_id, "i": i, "r": result} for i, result in done])


def _finish(db: Session, execution_id: str, final: str) -> None:
    execution = db.get(BatchExecution, execution_id)
    if execution is not None:
        execution.state = final
        execution.lease_until = None
