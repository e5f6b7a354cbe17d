"""Batch executions: many consume requests run in the background, results kept in the database.

The node that runs an execution holds a lease on it and renews it while it runs. On start-up a
node resumes its own unfinished executions and any whose lease ran out (their node died), so
an execution never vanishes: it finishes, or ends as Failed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .execution import run_service  # the same path a single consume takes
from .store.models import BatchExecution, BatchItem, Service, utcnow

log = logging.getLogger("o16n.batch")
LEASE = timedelta(seconds=30)
UNFINISHED = ("Pending", "Ready", "InProgress")


class BatchRunner:
    def __init__(self, state) -> None:  # state: ServerState (import cycle otherwise)
        self.state = state
        self.root: Path = state.settings.data_dir / "batch"
        self.tasks: dict[str, asyncio.Task] = {}

    def files_dir(self, execution_id: str, index: int) -> Path:
        return self.root / execution_id / str(index)

    def start(self, execution_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(execution_id))
        self.tasks[execution_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(execution_id, None))

    async def resume_unfinished(self) -> None:
        node = self.state.node

        def claimable(db: Session) -> list[str]:
            now = utcnow()
            # FOR UPDATE SKIP LOCKED (PostgreSQL): two nodes starting at once never claim the same one.
            rows = db.scalars(
                select(BatchExecution)
                .where(
                    BatchExecution.state.in_(UNFINISHED),
                    or_(BatchExecution.lease_node == node, BatchExecution.lease_until.is_(None),
                        BatchExecution.lease_until < now),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.lease_node, row.lease_until = node, now + LEASE
            return [row.id for row in rows]

        for execution_id in await self.state.db(claimable):
            log.info("resuming batch execution %s", execution_id)
            self.start(execution_id)

    async def _run(self, execution_id: str) -> None:
        state = self.state

        def load(db: Session):
            execution = db.get(BatchExecution, execution_id)
            if execution is None:
                return None
            service = db.get(Service, execution.service_id)
            execution.state = "InProgress"
            execution.lease_node, execution.lease_until = state.node, utcnow() + LEASE
            pending = db.execute(
                select(BatchItem.index, BatchItem.inputs).where(
                    BatchItem.execution_id == execution_id, BatchItem.result.is_(None)
                )
            ).all()
            return execution.parallel_count, service.name, service.version, execution.owner_id, [(i, x) for i, x in pending]

        loaded = await state.db(load)
        if loaded is None:
            return
        parallel, name, version, owner, pending = loaded
        limit = asyncio.Semaphore(max(1, min(parallel, state.settings.max_batch_parallel)))
        infrastructure_failed = False

        async def one(index: int, inputs: dict) -> None:
            nonlocal infrastructure_failed
            async with limit:
                status, reply = await run_service(state.pools, spec, inputs, owner)
            result = reply.to_result()
            if status != 200:
                infrastructure_failed = True
            await asyncio.to_thread(self._write_files, execution_id, index, result.get("outputFiles") or {})
            await state.db(lambda db: _save_item(db, execution_id, index, result))

        renew = asyncio.get_running_loop().create_task(self._renew_lease(execution_id))
        try:
            spec = await state.service_spec(name, version)
            await asyncio.gather(*(one(i, x) for i, x in pending))
            final = "Failed" if infrastructure_failed else "Complete"
        except asyncio.CancelledError:
            raise  # shutdown or delete: the lease says who picks it up again
        except Exception:
            log.exception("batch execution %s failed", execution_id)
            final = "Failed"
        finally:
            renew.cancel()
        await state.db(lambda db: _finish(db, execution_id, final))

    async def _renew_lease(self, execution_id: str) -> None:
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)

            def renew(db: Session) -> None:
                execution = db.get(BatchExecution, execution_id)
                if execution is not None:
                    execution.lease_until = utcnow() + LEASE

            with contextlib.suppress(Exception):
                await self.state.db(renew)

    def _write_files(self, execution_id: str, index: int, files: dict) -> None:
        folder = self.files_dir(execution_id, index)
        for name, content in files.items():
            if content is None:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            (folder / Path(name).name).write_bytes(base64.b64decode(content))

    async def forget(self, execution_ids: list[str]) -> None:
        """Stop executions (their rows are already gone or going) and remove their files."""
        for execution_id in execution_ids:
            task = self.tasks.pop(execution_id, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await asyncio.to_thread(shutil.rmtree, self.root / execution_id, True)

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _save_item(db: Session, execution_id: str, index: int, result: dict) -> None:
    item = db.get(BatchItem, (execution_id, index))
    if item is not None:
        item.result = result


def _finish(db: Session, execution_id: str, final: str) -> None:
    execution = db.get(BatchExecution, execution_id)
    if execution is not None:
        execution.state = final
        execution.lease_until = None
