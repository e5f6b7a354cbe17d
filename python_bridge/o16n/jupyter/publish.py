"""Publish from a kernel: the job behind ``POST /o16n/publish`` and ``GET /o16n/publish/{jobId}``.

Steps: ``capture`` (the kernel dill-serializes each chosen object into a file of a private 0700
directory, recording the modules each pickle refers to: the environment the service needs),
``environment`` (only with one: the o16n server builds it, ``POST /environments``, its progress
polled into the step's detail), ``upload`` (each file streamed into a new o16n session's
workspace), ``files`` (chosen files of the Jupyter root, multipart), ``snapshot``, ``publish``
(with the environment, or without one: then the job's ``versionSkew`` names the packages whose
kernel version differs from the server's own), ``cleanup`` (session, snapshot, capture directory).
A realtime job (``kind: "realtime"``) has two: ``convert`` (the kernel turns the estimator into an
ONNX file, skl2onnx there) and ``publish`` (the 9.1 multipart ``/realtime-services`` route).
On a failure the job names the step and removes what it created, including a service version it
published, so a failed job leaves nothing published. The data never passes
through the browser or the kernel's messages, and is streamed from disk (one chunk in memory at a
time). Jobs are kept on disk (`jobs.JobStore`): a restart of JupyterLab ends one in flight as failed
and removes what it had created once the o16n server is reachable again.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from o16n.client import Client
from o16n.client.definition import ServiceDefinition
from o16n.client.environment import Environment, version_skew
from o16n.client.errors import NotFound, O16nError

from .bodies import PublishRequest
from .errors import RelayError, relay_error
from .functions import function_code, function_inputs, function_outputs
from .jobs import JobStore, PublishJob
from .kernels import private_dir, remove_dir, run_in_kernel
from .paths import confine

CHUNK = 1 << 20
_MISSING = re.compile(r"No module named '([A-Za-z0-9_.]+)'")


class _FileBody:
    """A request body streamed from a file in chunks, re-iterable (the client may retry after a 401)."""

    def __init__(self, path: Path, on_chunk: Callable[[int], None]) -> None:
        self.path = path
        self.on_chunk = on_chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        self.on_chunk(-self.sent)  # a retry starts over
        self.sent = 0
        with open(self.path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                self.sent += len(chunk)
                self.on_chunk(len(chunk))
                yield chunk


class Publisher:
    """Runs publish jobs against the connection's o16n server and remembers them for a while."""

    ENVIRONMENT_POLL_SECONDS = 0.5
    KEEP_SECONDS = 3600
    KEEP_JOBS = 100
    RETRY_SECONDS = 5.0

    def __init__(self, connection: Any, kernel_manager: Any, root_dir: str, allow_hidden: bool,
                 kernel_timeout: float, capture_dir: str | None, jobs_dir: Path) -> None:
        self.connection = connection
        self.kernel_manager = kernel_manager
        self.root_dir = root_dir
        self.allow_hidden = allow_hidden
        self.kernel_timeout = kernel_timeout
        self.capture_dir = capture_dir
        self.store = JobStore(jobs_dir)
        self.jobs: dict[str, PublishJob] = {job.id: job for job in self.store.load()}
        self._tasks: set[asyncio.Task[None]] = set()
        self._forget_old()

    # ------------------------------------------------------------ the job list
    def confine_files(self, request: PublishRequest) -> list[Path]:
        """The chosen files, confined to Jupyter's root (400 naming 'files' otherwise)."""
        files = [confine(self.root_dir, f, self.allow_hidden) for f in request.files]
        if len({p.name for p in files}) != len(files):
            raise RelayError(400, "two of the files have the same name; the session keeps one folder", "files")
        return files

    def latest(self, notebook: str | None, limit: int = 20) -> list[PublishJob]:
        """The newest jobs first, of one notebook when given."""
        jobs = [j for j in self.jobs.values() if notebook is None or j.request.notebook == notebook]
        return sorted(jobs, key=lambda j: j.started, reverse=True)[:limit]

    def start(self, request: PublishRequest, client: Client, files: list[Path]) -> PublishJob:
        self._forget_old()
        job = PublishJob(request)
        self.jobs[job.id] = job
        self.store.save(job)
        self._spawn(self._run(job, client, files))
        return job

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget_old(self) -> None:
        done = sorted((j for j in self.jobs.values() if j.finished and not j.cleanup_pending),
                      key=lambda j: j.finished or 0)
        now = time.time()
        for job in done:
            if now - (job.finished or now) > self.KEEP_SECONDS or len(self.jobs) > self.KEEP_JOBS:
                self.jobs.pop(job.id, None)
                self.store.delete(job.id)

    def recover(self) -> None:
        """Start removing what interrupted jobs left on the o16n server (after a restart)."""
        for job in self.jobs.values():
            if job.cleanup_pending:
                self._spawn(self._recover(job))

    async def _recover(self, job: PublishJob) -> None:
        while job.cleanup_pending:
            try:
                client = await self.connection.require_client()
            except RelayError as exc:
                job.steps["cleanup"].detail = f"waiting for the o16n server to remove what the job created: {exc.message}"
                await asyncio.sleep(self.RETRY_SECONDS)
                continue
            problems = await self._remove(client, job.created, remove_service=True)
            step = job.steps["cleanup"]
            step.state = "failed" if problems else "done"
            step.detail = "; ".join(problems) or "what the job had created was removed"
            job.cleanup_pending = False
            self.store.save(job)

    async def stop(self, timeout: float = 30.0) -> None:
        """Jupyter is stopping: cancel running jobs; each removes what it created."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # ------------------------------------------------------------ one job
    async def _run(self, job: PublishJob, client: Client, files: list[Path]) -> None:
        workdir: Path | None = None
        try:
            workdir = private_dir(self.capture_dir, "o16n-publish-")
            if job.request.kind == "realtime":
                model = await self._convert(job, workdir)
                await self._publish_realtime(job, client, model)
            else:
                captured, function, environment = await self._capture(job, workdir)
                definition = self._definition(job, client, function)
                job.total_bytes = sum(captured.values()) + sum(p.stat().st_size for p in files)
                if job.request.environment is not None:
                    await self._environment(job, client)
                if job.request.environment is None:  # known before the upload, which it may explain
                    job.version_skew = await self._skew(client, environment)
                await self._upload(job, client, workdir, captured)
                await self._files(job, client, files)
                await self._snapshot(job, client)
                await self._publish(job, client, definition)
        except asyncio.CancelledError:
            self._fail(job, RelayError(503, "the Jupyter server is stopping: nothing was published"))
            await self._rollback(job, client)
            raise
        except Exception as exc:  # every failure is reported on the job, never lost in a log
            self._fail(job, exc)
            await self._rollback(job, client)
        else:
            if "cleanup" in job.steps:
                await self._cleanup(job, client)
            job.state = "done"
        finally:
            if workdir is not None:
                remove_dir(workdir)
            if job.error is not None:
                job.state = "failed"
            job.finished = time.time()
            self.store.save(job)

    def _begin(self, job: PublishJob, name: str) -> Any:
        step = job.begin(name)
        self.store.save(job)
        return step

    async def _capture(self, job: PublishJob, workdir: Path) -> tuple[dict[str, int], dict[str, Any] | None,
                                                                       dict[str, Any] | None]:
        step = self._begin(job, "capture")
        request = job.request
        answer = await run_in_kernel(
            self.kernel_manager, request.kernel_id,
            {"command": "capture", "names": request.objects, "dir": str(workdir), "function": request.function_name,
             "environment": True, "code": request.code, "initCode": request.init_code},
            workdir, timeout=self.kernel_timeout)
        captured: dict[str, int] = answer.get("objects", {})
        job.not_captured = answer.get("failed", {})
        function = answer.get("function")
        if function is not None and function.get("error"):
            raise RelayError(400, function["error"], "functionName")
        step.state = "done"
        step.detail = f"{len(captured)} object(s), {sum(captured.values())} bytes"
        if job.not_captured:
            step.detail += "; not taken: " + "; ".join(f"{k}: {v}" for k, v in job.not_captured.items())
        return captured, function, answer.get("environment")

    async def _environment(self, job: PublishJob, client: Client) -> None:
        """Have the o16n server build the job's environment, its progress in the step's detail."""
        step = self._begin(job, "environment")
        spec = job.request.environment
        assert spec is not None
        answer = await self.connection.run(client.start_environment, spec)
        reused = answer.get("state") == "ready"
        key = str(answer.get("key") or "")
        while answer.get("state") == "building":
            detail = str(answer.get("progress") or "building environment")
            if detail != step.detail:
                step.detail = detail
                self.store.save(job)
            await asyncio.sleep(self.ENVIRONMENT_POLL_SECONDS)
            answer = await self.connection.run(client.get_environment, key)
        job.environment = answer
        if answer.get("state") != "ready":
            raise RelayError(400, str(answer.get("message") or f"the environment {key[:16]} could not be built"),
                             "environment")
        seconds = answer.get("buildSeconds")
        step.state = "done"
        step.detail = "reused" if reused else (f"ready in {seconds:.1f} s" if isinstance(seconds, (int, float))
                                               else "ready")

    async def _skew(self, client: Client, captured: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Version skew of a service published without an environment ([] when the server does not say)."""
        if not captured:
            return []
        try:
            server = await self.connection.run(client.server_environment)
        except (RelayError, O16nError):
            return []
        if not server:
            return []
        return [s.to_json() for s in version_skew(Environment.from_capture(captured), server.get("packages") or {})]

    async def _convert(self, job: PublishJob, workdir: Path) -> Path:
        """The realtime job's first step: the kernel writes the model as ONNX into ``workdir``."""
        step = self._begin(job, "convert")
        request = job.request
        answer = await run_in_kernel(
            self.kernel_manager, request.kernel_id,
            {"command": "convert", "model": request.model, "sample": request.sample, "dir": str(workdir)},
            workdir, timeout=self.kernel_timeout)
        model = workdir / "model.onnx"  # where we asked for it; the answer's path is not trusted
        if not model.is_file() or model.is_symlink():
            raise RelayError(500, "the kernel wrote no model file", "model")
        job.model = answer.get("model")
        job.total_bytes = model.stat().st_size
        step.state, step.detail = "done", str(answer.get("detail") or f"onnx {job.total_bytes} bytes")
        return model

    async def _publish_realtime(self, job: PublishJob, client: Client, model: Path) -> None:
        step = self._begin(job, "publish")
        request = job.request
        data = model.read_bytes()
        version = await self.connection.run(lambda: client.post_realtime_service(
            request.name, request.version, data, description=request.description, operation_id=request.operation_id))
        job.bytes_uploaded = len(data)
        job.created["service"] = [request.name, version]
        self.store.save(job)
        found = await self.connection.run(client.list_services, request.name, version)
        job.service = found[0] if found else None
        step.state, step.detail = "done", f"{request.name} {version}"

    def _definition(self, job: PublishJob, client: Client, function: dict[str, Any] | None) -> ServiceDefinition:
        """The service to publish, built as the Python client builds one (same checks, same body)."""
        request = job.request
        if function is None:
            inputs, outputs, code = request.inputs or [], request.outputs or [], request.code or ""
        else:
            inputs = request.inputs if request.inputs is not None else function_inputs(function)
            outputs = request.outputs if request.outputs is not None else function_outputs(function)
            code = function_code(function, inputs, outputs)
        definition = (client.service(request.name).code_str(code, init=request.init_code)
                      .inputs(**{p["name"]: p["type"] for p in inputs})
                      .outputs(**{p["name"]: p["type"] for p in outputs})
                      .output_files(request.output_file_names))
        if request.version:
            definition.version(request.version)
        if request.description is not None:
            definition.description(request.description)
        if request.operation_id or request.function_name:
            definition.alias(request.operation_id or request.function_name or "")
        return definition

    async def _upload(self, job: PublishJob, client: Client, workdir: Path, captured: dict[str, int]) -> None:
        step = self._begin(job, "upload")
        # the objects are loaded where the service will run: in its environment, when it has one
        session = await self.connection.run(client.create_session, f"jupyter-publish-{job.request.name}", None,
                                            job.request.environment)
        job.created["session"] = session.id
        self.store.save(job)

        def count(n: int) -> None:
            job.bytes_uploaded += n

        for name, size in captured.items():
            step.detail = f"{name} ({size} bytes)"
            body = _FileBody(workdir / f"{name}.dill", count)
            await self.connection.run(session.upload_object, name, body, size)
            (workdir / f"{name}.dill").unlink(missing_ok=True)  # free the disk as we go
        step.state, step.detail = "done", f"{len(captured)} object(s) uploaded"

    async def _files(self, job: PublishJob, client: Client, files: list[Path]) -> None:
        step = self._begin(job, "files")
        if not files:
            step.state = "skipped"
            return
        session = client.session(job.created["session"])
        for file in files:
            step.detail = file.name
            size = file.stat().st_size

            def send(file: Path = file) -> None:
                fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                with os.fdopen(fd, "rb") as handle:
                    session.upload_file(file.name, handle)

            try:
                await self.connection.run(send)
            except OSError as exc:
                raise RelayError(400, f"cannot read {file.name}: {exc.strerror}", "files") from None
            job.bytes_uploaded += size
        step.state, step.detail = "done", f"{len(files)} file(s) uploaded"

    async def _snapshot(self, job: PublishJob, client: Client) -> None:
        step = self._begin(job, "snapshot")
        session = client.session(job.created["session"])
        job.created["snapshot"] = await self.connection.run(session.snapshot, f"jupyter-{job.request.name}")
        step.state, step.detail = "done", job.created["snapshot"]

    async def _publish(self, job: PublishJob, client: Client, definition: ServiceDefinition) -> None:
        step = self._begin(job, "publish")
        request = job.request
        body = definition.request_body()
        body["snapshotId"] = job.created["snapshot"]
        if request.environment is not None:
            body["environment"] = request.environment
        version = await self.connection.run(client.post_service, request.name, request.version, body)
        job.created["service"] = [request.name, version]
        self.store.save(job)
        found = await self.connection.run(client.list_services, request.name, version)
        job.service = found[0] if found else None
        step.state, step.detail = "done", f"{request.name} {version}"

    async def _cleanup(self, job: PublishJob, client: Client) -> None:
        step = self._begin(job, "cleanup")
        problems = await self._remove(client, job.created, remove_service=False)
        step.state = "failed" if problems else "done"
        step.detail = "; ".join(problems) or "session and snapshot removed"

    # ------------------------------------------------------------ failure
    def _fail(self, job: PublishJob, exc: BaseException) -> None:
        error = relay_error(exc, self.connection.url)
        step = job.step or next(iter(job.steps))
        missing = _MISSING.search(error.message)
        if missing and job.request.environment is None:
            # the server's own environment cannot load an object: say which package would fix it
            top = missing.group(1).split(".", 1)[0]
            lacking = [s for s in job.version_skew if s.get("serverVersion") is None]
            hint = ", ".join(f"{s['name']}=={s['kernelVersion']}" for s in lacking) or top
            error = RelayError(error.status, f"{error.message}: the o16n server's own environment lacks it; publish "
                               f"with an environment (this kernel has {hint})", "environment")
        job.steps[step].state = "failed"
        job.steps[step].detail = error.message
        # job.state turns "failed" only once the rollback is over (see _run): a client that sees
        # "failed" may rely on nothing of the job being left.
        job.error = {"step": step, "message": error.message, "field": error.field, "status": error.status}
        self.store.save(job)

    async def _rollback(self, job: PublishJob, client: Client) -> None:
        try:
            problems = await self._remove(client, job.created, remove_service=True)
        except Exception as exc:  # best effort; the job already says what failed
            problems = [str(exc)]
        if "cleanup" not in job.steps:
            if problems:  # a realtime job: say it on the failed step
                failed = job.steps[job.step or next(iter(job.steps))]
                failed.detail = f"{failed.detail}; not removed: {'; '.join(problems)}"
            return
        cleanup = job.steps["cleanup"]
        cleanup.state = "failed" if problems else ("done" if job.created else "skipped")
        cleanup.detail = "; ".join(problems) or ("what the job had created was removed" if job.created else None)

    async def _remove(self, client: Client, created: dict[str, Any], remove_service: bool) -> list[str]:
        """Remove what a job created; gone already (404) counts as removed."""
        problems = []
        actions: list[tuple[str, Callable[[], Any]]] = []
        if remove_service and created.get("service"):
            name, version = created["service"]
            actions.append(("service", lambda: client.delete_service(name, version)))
        if created.get("session"):
            actions.append(("session", lambda: client.delete_session(created["session"])))
        if created.get("snapshot"):
            actions.append(("snapshot", lambda: client.delete_snapshot(created["snapshot"])))
        for what, action in actions:
            try:
                await self.connection.run(_tolerate_missing(action))
            except RelayError as exc:
                problems.append(f"{what}: {exc.message}")
        return problems


def _tolerate_missing(action: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            action()
        except NotFound:
            pass  # already gone (a session ends with its server)
    return run
