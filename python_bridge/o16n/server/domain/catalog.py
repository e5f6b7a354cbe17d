"""The service catalog: publish, patch and delete service versions, list them, and hand the consume
path a cached `ServiceSpec`.

Every change ends in `_changed`, the one place that keeps the rest consistent with the database:
blobs nobody refers to any more are removed, and an event tells every node (this one too, at once;
the others through the bus) to forget the version's cached spec, replace (or drop) its pool, and
stop the batch executions of a deleted version.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ...wire.types import Parameter
from ..artifacts import ArtifactStore
from ..cluster.bus import Event, EventBus
from ..errors import BadRequest, Conflict, ExistsAlready, Forbidden, NotFound
from ..runtime.pools import PoolRegistry
from ..store.db import Database
from ..store.models import BatchExecution, Service, Snapshot, User, utcnow
from .access import Caller
from .blobs import blob_unused
from .realtime import INPUTS as REALTIME_INPUTS
from .realtime import OUTPUTS as REALTIME_OUTPUTS
from .realtime import REALTIME, RealtimeDefinition, RealtimeModels
from .requests import PoolSizes, ServiceDefinition
from .specs import EnvironmentRef, ServiceSpec
from .views import PoolStatusView, ServiceView

if TYPE_CHECKING:
    from ..environments.service import EnvironmentService

StopBatches = Callable[[list[str]], Awaitable[None]]


def _not_found(name: str, version: str) -> NotFound:
    return NotFound(f"web service '{name}' version '{version}' was not found")


@dataclass
class _Change:
    """What a transaction did to one version, for `_changed` to act on after the commit."""

    name: str
    version: str
    deleted: bool = False
    unused_blob: str | None = None
    executions: tuple[str, ...] = ()


class SpecCache:
    """Service definitions for the consume path, kept a few seconds so consume skips the database.

    A change on this node forgets the entry at once; other nodes see it within `ttl` s.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[tuple[str, str], tuple[float, ServiceSpec | None]] = {}

    def get(self, name: str, version: str) -> ServiceSpec | None | bool:
        """The cached spec, None if known missing, False if not cached."""
        hit = self.entries.get((name, version))
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return False

    def put(self, name: str, version: str, spec: ServiceSpec | None) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[(name, version)] = (time.monotonic(), spec)

    def forget(self, name: str, version: str) -> None:
        self.entries.pop((name, version), None)


class ServiceCatalog:
    def __init__(self, db: Database, artifacts: ArtifactStore, pools: PoolRegistry, cache_seconds: float,
                 stop_batches: StopBatches, bus: EventBus, environments: EnvironmentService | None = None) -> None:
        self.db = db
        self.environments = environments
        self.artifacts = artifacts
        self.pools = pools
        self.cache = SpecCache(cache_seconds)
        self.stop_batches = stop_batches
        self.bus = bus
        self.models: RealtimeModels | None = None  # set by ServerState (realtime services)
        self._warming: set[asyncio.Task[None]] = set()
        bus.subscribe(self._on_event)
        bus.resync.append(self.cache.entries.clear)  # events may have been missed: forget everything

    # --- reading -------------------------------------------------------------------------
    async def list_services(self, caller: Caller, name: str | None = None) -> list[ServiceView]:
        """Every version (of one name), oldest first within a name."""
        query = select(Service).order_by(Service.name, Service.created_at, Service.id)
        if name is not None:
            query = query.where(Service.name == name)
        views = await self._views(caller, query)
        return await self._with_models(views)

    async def get(self, caller: Caller, name: str, version: str) -> ServiceView:
        query = select(Service).where(Service.name == name, Service.version == version)
        rows = await self._views(caller, query)
        if not rows:
            raise _not_found(name, version)
        return (await self._with_models(rows))[0]

    async def _views(self, caller: Caller, query: Select[Any]) -> list[ServiceView]:
        rows = await self.db.run(lambda db: _with_publishers(db, query))
        keys = {s.environment_key for s, _ in rows if s.environment_key}
        described = await self.environments.describe(keys) if self.environments is not None and keys else {}
        return [ServiceView.of(s, who, caller, environment=described.get(s.environment_key or "")) for s, who in rows]

    async def spec(self, name: str, version: str) -> ServiceSpec:
        """What consume and batch need, from the short-lived cache or the database; 404 if none."""
        spec = self.cache.get(name, version)
        if spec is False:
            spec = await self._load_spec(name, version)
            self.cache.put(name, version, spec)
        if spec is None:
            raise _not_found(name, version)
        return spec  # type: ignore[return-value]  # False was replaced above

    async def _load_spec(self, name: str, version: str) -> ServiceSpec | None:
        query = select(Service).where(Service.name == name, Service.version == version)
        service = await self.db.run(lambda db: db.scalar(query))
        if service is None:
            return None
        # A local, complete copy of the snapshot for the workers (downloaded once per node from S3).
        if service.runtime_type == REALTIME:
            return await self._realtime_spec(service)
        blob = await run_in_threadpool(self.artifacts.blob_path, service.blob) if service.blob else None
        environment = None
        if service.environment_key and self.environments is not None:
            environment = await self.environments.local(service.environment_key)  # built here first if missing
        return spec_of(service, str(blob) if blob else None, environment)

    # --- changing ------------------------------------------------------------------------
    async def publish(self, caller: Caller, name: str, version: str | None, definition: ServiceDefinition) -> str:
        """Publish a new version (a GUID when `version` is None); returns the version."""
        caller.require_publisher("publishing")
        explicit = version is not None
        version = version or str(uuid.uuid4())
        async with self._environment_of(definition) as environment_key:
            return await self._publish(caller, name, version, explicit, definition, environment_key)

    @contextlib.asynccontextmanager
    async def _environment_of(self, definition: ServiceDefinition) -> AsyncIterator[str | None]:
        """The environment a publish or patch names, built (or a 400) before anything is written;
        kept from pruning until the row names it."""
        spec = definition.environment
        if spec is None or self.environments is None:
            yield None
            return
        async with self.environments.pinned(spec.key):
            await self.environments.ensure(spec)
            yield spec.key

    async def _publish(self, caller: Caller, name: str, version: str, explicit: bool, definition: ServiceDefinition,
                       environment_key: str | None) -> str:
        def insert(db: Session) -> _Change:
            # A name belongs to whoever published its first version; Owners may publish under any.
            first = db.scalar(select(Service.publisher_id).where(Service.name == name)
                              .order_by(Service.created_at, Service.id).limit(1))
            if first is not None and first != caller.user_id and not caller.is_owner:
                raise Forbidden(f"web service '{name}' belongs to another user: choose another name")
            if db.scalar(select(Service.id).where(Service.name == name, Service.version == version)) is not None:
                raise ExistsAlready(f"web service '{name}' version '{version}' already exists: use PATCH to update it",
                                    status=403 if explicit else 409)
            blob = _own_snapshot_blob(db, caller, definition.snapshot_id) if definition.snapshot_id else None
            db.add(Service(
                name=name, version=version, publisher_id=caller.user_id, runtime_type="Python",
                code=definition.code, init_code=definition.init_code, description=definition.description,
                operation_id=definition.operation_id, inputs=_wire(definition.inputs),
                outputs=_wire(definition.outputs), output_file_names=list(definition.output_file_names),
                snapshot_id=definition.snapshot_id, blob=blob, environment_key=environment_key,
            ))
            return _Change(name, version)

        try:
            change = await self.db.run(insert)
        except IntegrityError:
            raise Conflict(f"web service '{name}' version '{version}' was just published by another request") from None
        await self._changed(change)
        return version

    async def patch(self, caller: Caller, name: str, version: str, definition: ServiceDefinition) -> None:
        """Change only the fields the request carried."""
        if "environment" in definition.given:
            await self.db.run(lambda db: _managed(db, caller, name, version))  # 403/404 before any build
        async with self._environment_of(definition) as environment_key:
            await self._patch(caller, name, version, definition, environment_key)

    async def _patch(self, caller: Caller, name: str, version: str, definition: ServiceDefinition,
                     environment_key: str | None) -> None:

        def update(db: Session) -> _Change:
            service = _managed(db, caller, name, version)
            _no_code_for_realtime(service, definition)
            old_blob = service.blob
            given = definition.given
            if definition.snapshot_id:
                new_blob = _own_snapshot_blob(db, caller, definition.snapshot_id)
                # The Microsoft SDK sends a fresh snapshot with every redeploy, empty when no objects
                # were given: an empty one carries nothing, so the service keeps what it has.
                if not self.artifacts.blob_is_empty(new_blob):
                    service.blob, service.snapshot_id = new_blob, definition.snapshot_id
            for attribute in ("code", "init_code", "description", "operation_id"):
                if attribute in given:
                    setattr(service, attribute, getattr(definition, attribute))
            if "inputs" in given:
                service.inputs = _wire(definition.inputs)
            if "outputs" in given:
                service.outputs = _wire(definition.outputs)
            if "output_file_names" in given:
                service.output_file_names = list(definition.output_file_names)
            if "environment" in given:
                service.environment_key = environment_key
            service.updated_at = utcnow()
            db.flush()
            unused = old_blob if old_blob and old_blob != service.blob and blob_unused(db, old_blob) else None
            return _Change(name, version, unused_blob=unused)

        await self._changed(await self.db.run(update))

    async def delete(self, caller: Caller, name: str, version: str) -> None:
        def remove(db: Session) -> _Change:
            service = _managed(db, caller, name, version)
            executions = db.scalars(select(BatchExecution.id).where(BatchExecution.service_id == service.id)).all()
            blob = service.blob
            db.delete(service)
            db.flush()
            unused = blob if blob and blob_unused(db, blob) else None
            return _Change(name, version, deleted=True, unused_blob=unused, executions=tuple(executions))

        await self._changed(await self.db.run(remove))

    async def set_pool(self, caller: Caller, name: str, version: str, sizes: PoolSizes) -> None:
        def update(db: Session) -> _Change:
            service = _managed(db, caller, name, version)
            service.pool_initial_size, service.pool_max_size = sizes.initial, sizes.maximum
            return _Change(name, version)

        await self._changed(await self.db.run(update))

    async def delete_pool(self, caller: Caller, name: str, version: str) -> None:
        def update(db: Session) -> _Change:
            service = _managed(db, caller, name, version)
            service.pool_initial_size = service.pool_max_size = None
            return _Change(name, version)

        await self._changed(await self.db.run(update))

    async def pool_status(self, name: str, version: str) -> PoolStatusView:
        spec = await self.spec(name, version)
        if spec.max_size is None:
            return PoolStatusView("NotFound")
        pool = self.pools.status(name, version)
        ready = pool.key == spec.key and pool.size >= spec.initial_size
        return PoolStatusView("Success" if ready else "Pending")

    # --- realtime services (docs/realtime.md) -----------------------------------------------
    def _realtime_models(self) -> RealtimeModels:
        if self.models is None:
            raise BadRequest("realtime services are not enabled on this server", field="model")
        return self.models

    async def publish_realtime(self, caller: Caller, name: str, version: str | None, definition: RealtimeDefinition) -> str:
        """Publish a realtime service version (a GUID when `version` is None): the model is checked
        and stored first, then the row is written as for any service; returns the version."""
        caller.require_publisher("publishing")
        models = self._realtime_models()
        explicit = version is not None
        version = version or str(uuid.uuid4())
        assert definition.model is not None
        digest = await models.store(definition.model)

        def insert(db: Session) -> _Change:
            _check_new_version(db, caller, name, version, explicit)
            db.add(Service(
                name=name, version=version, publisher_id=caller.user_id, runtime_type=REALTIME, code="",
                init_code=None, description=definition.description, operation_id=definition.operation_id,
                inputs=list(REALTIME_INPUTS), outputs=list(REALTIME_OUTPUTS), output_file_names=[],
                snapshot_id=None, blob=digest,
            ))
            return _Change(name, version)

        try:
            change = await self.db.run(insert)
        except IntegrityError:
            await self._drop_model_if_unused(digest)
            raise Conflict(f"web service '{name}' version '{version}' was just published by another request") from None
        except BaseException:
            await self._drop_model_if_unused(digest)
            raise
        await self._changed(change)
        return version

    async def patch_realtime(self, caller: Caller, name: str, version: str, definition: RealtimeDefinition) -> None:
        """Change the model, description or operationId of a realtime service version."""
        models = self._realtime_models()
        digest = await models.store(definition.model) if definition.model is not None else None

        def update(db: Session) -> _Change:
            service = _managed(db, caller, name, version)
            if service.runtime_type != REALTIME:
                raise BadRequest(f"web service '{name}' version '{version}' is a standard service, not a realtime one: "
                                 "update it with PATCH /services/{name}/{version}", field="model")
            old_blob = service.blob
            if digest is not None:
                service.blob = digest
            if "description" in definition.given:
                service.description = definition.description
            if "operation_id" in definition.given:
                service.operation_id = definition.operation_id
            service.updated_at = utcnow()
            db.flush()
            unused = old_blob if old_blob and old_blob != service.blob and blob_unused(db, old_blob) else None
            return _Change(name, version, unused_blob=unused)

        try:
            change = await self.db.run(update)
        except BaseException:
            if digest is not None:
                await self._drop_model_if_unused(digest)
            raise
        await self._changed(change)

    async def _drop_model_if_unused(self, digest: str) -> None:
        """A publish or patch that failed after storing its model: remove it unless something uses it."""
        if await self.db.run(lambda db: blob_unused(db, digest)):
            await run_in_threadpool(self.artifacts.delete_blob, digest)

    async def _realtime_spec(self, service: Service) -> ServiceSpec:
        ref = await self._realtime_models().ref(service.blob or "")
        return replace(spec_of(service, None), model=ref)

    async def _with_models(self, views: list[ServiceView]) -> list[ServiceView]:
        """Realtime services' views carry their model's inputs, outputs and size (an o16n extension)."""
        if self.models is None or not any(v.service.runtime_type == REALTIME for v in views):
            return views
        result = []
        for view in views:
            if view.service.runtime_type == REALTIME and view.service.blob:
                view = replace(view, model=await self.models.describe(view.service.blob))
            result.append(view)
        return result

    async def _changed(self, change: _Change) -> None:
        """After a committed change: what happens once (blobs), then what every node does (the event)."""
        if change.unused_blob:
            await run_in_threadpool(self.artifacts.delete_blob, change.unused_blob)
            if self.models is not None:
                self.models.forget(change.unused_blob)
        await self.bus.publish({"kind": "service", "name": change.name, "version": change.version,
                                "deleted": change.deleted, "executions": list(change.executions)})

    async def _on_event(self, event: Event) -> None:
        """On every node (this one included): cache, pool and batch effects of a change."""
        if event.get("kind") != "service":
            return
        name, version = str(event["name"]), str(event["version"])
        self.cache.forget(name, version)
        if event.get("deleted"):
            self.pools.drop(name, version)
            await self.stop_batches([str(e) for e in event.get("executions") or []])
            return
        # Replaces the pool if what its workers load changed; starts its first worker(s) now so that
        # the first consume on any node is quick.
        if self.environments is not None:
            key = await self.db.run(lambda db: db.scalar(select(Service.environment_key).where(
                Service.name == name, Service.version == version)))
            if self.environments.needs_build(key):  # this node builds it first: not in the bus's dispatch
                task = asyncio.get_running_loop().create_task(self._warm(name, version))
                self._warming.add(task)
                task.add_done_callback(self._warming.discard)
                return
        await self._warm(name, version)

    async def _warm(self, name: str, version: str) -> None:
        try:
            spec = await self.spec(name, version)
        except (NotFound, BadRequest):
            return  # deleted again meanwhile, or its environment does not build on this node
        if spec.model is not None and spec.model.scorer is not None:
            return  # a realtime service scored in this process (realtime_in_process): no workers
        self.pools.warm(spec, max(1, spec.initial_size))


def _wire(params: tuple[Parameter, ...]) -> list[dict[str, str]]:
    return [p.to_json() for p in params]


def _with_publishers(db: Session, query: Select[Any]) -> list[tuple[Service, str]]:
    """Run a `select(Service)` query and pair each service with its publisher's user name."""
    rows = db.execute(query.add_columns(User.username).join(User, User.id == Service.publisher_id)).all()
    return [(row[0], row[1]) for row in rows]


def _own_snapshot_blob(db: Session, caller: Caller, snapshot_id: str) -> str:
    snapshot = db.get(Snapshot, snapshot_id)
    if snapshot is None or snapshot.owner_id != caller.user_id:
        raise BadRequest(f"'snapshotId' {snapshot_id} is not one of your snapshots", field="snapshotId")
    return snapshot.blob


def _check_new_version(db: Session, caller: Caller, name: str, version: str, explicit: bool) -> None:
    """The rules of a new version (as `publish` applies them): the name is the caller's (or an Owner
    publishes), and the version is new (403 for an explicit version, 409 for a generated one)."""
    first = db.scalar(select(Service.publisher_id).where(Service.name == name)
                      .order_by(Service.created_at, Service.id).limit(1))
    if first is not None and first != caller.user_id and not caller.is_owner:
        raise Forbidden(f"web service '{name}' belongs to another user: choose another name")
    if db.scalar(select(Service.id).where(Service.name == name, Service.version == version)) is not None:
        raise ExistsAlready(f"web service '{name}' version '{version}' already exists: use PATCH to update it",
                            status=403 if explicit else 409)


def _no_code_for_realtime(service: Service, definition: ServiceDefinition) -> None:
    """A realtime service has a model, not code: a standard PATCH may change only its description
    and operationId."""
    if service.runtime_type != REALTIME:
        return
    touched = sorted(definition.given - {"description", "operation_id"})
    if touched:
        raise BadRequest(f"web service '{service.name}' version '{service.version}' is a realtime service: it has no "
                         "code, inputs or snapshot to change; send a new model with PATCH /realtime-services/{name}/{version}",
                         field=touched[0])


def _managed(db: Session, caller: Caller, name: str, version: str) -> Service:
    """The service version the caller may change; 404 if missing, 403 if it isn't theirs."""
    service = db.scalar(select(Service).where(Service.name == name, Service.version == version))
    if service is None:
        raise _not_found(name, version)
    if not caller.may_manage(service.publisher_id):
        raise Forbidden(f"you may not change web service '{name}' version '{version}': it belongs to another user")
    return service


def spec_of(service: Service, snapshot_path: str | None, environment: EnvironmentRef | None = None) -> ServiceSpec:
    loaded = [service.id, service.code, service.init_code, service.blob, service.inputs, service.outputs,
              service.output_file_names]
    if service.environment_key:
        loaded.append(service.environment_key)  # a new environment means new workers
    return ServiceSpec(
        key=hashlib.sha256(json.dumps(loaded).encode()).hexdigest(),
        name=service.name,
        version=service.version,
        code=service.code,
        init_code=service.init_code,
        inputs=tuple(Parameter(p["name"], p["type"]) for p in service.inputs),
        outputs={p["name"]: p["type"] for p in service.outputs},
        output_files=tuple(service.output_file_names),
        snapshot_path=snapshot_path,
        initial_size=service.pool_initial_size or 0,
        max_size=service.pool_max_size,
        operation_id=service.operation_id,
        description=service.description,
        environment=environment,
    )
