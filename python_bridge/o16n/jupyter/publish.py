"""Publish from a kernel: the job behind ``POST /o16n/publish`` and ``GET /o16n/publish/{jobId}``.

Steps: ``capture`` (the kernel dill-serializes each chosen variable into a file of a private 0700
directory), ``upload`` (each file streamed into a new o16n session's workspace), ``files`` (chosen
files of the Jupyter root, multipart), ``snapshot``, ``publish``, ``cleanup`` (session, snapshot,
capture directory). On a failure the job names the step and removes what it created, including a
service version it published, so nothing is left half-published. The data never passes through
the browser or the kernel's messages, and is streamed from disk (one chunk in memory at a time).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o16n.client import Client, O16nError, param_type
from o16n.client.definition import DEFAULT_OUTPUT, call_code
from o16n.client.encoding import WIRE_TYPES
from o16n.client.transport import path as api_path

from .errors import RelayError
from .kernels import (
    KernelCodeFailed,
    KernelUnavailable,
    private_dir,
    remove_dir,
    run_in_kernel,
)
from .paths import confine

STEPS = ("capture", "upload", "files", "snapshot", "publish", "cleanup")
CHUNK = 1 << 20


def check_segment(value: str | None, field: str) -> None:
    """A name that becomes one segment of an o16n API path: no dot segments, no control characters.

    Segments are percent-encoded, but ``.``/``..`` would still be resolved as paths by HTTP clients.
    """
    if value is not None and (value in (".", "..") or any(ord(c) < 32 for c in value)):
        raise RelayError(400, f"'{field}' is not a valid name", field)


def wire_type(annotation: str | None) -> str | None:
    """A kernel annotation name ("float", "numpy.ndarray", ...) as an o16n wire type, if it maps."""
    if not annotation:
        return None
    try:
        return param_type(annotation).wire
    except ValueError:
        return None


@dataclass
class PublishRequest:
    """The validated body of ``POST /o16n/publish``."""

    kernel_id: str
    name: str
    version: str | None
    description: str | None
    code: str | None
    function_name: str | None
    inputs: list[dict[str, str]] | None
    outputs: list[dict[str, str]] | None
    variables: list[str]
    files: list[str]
    init_code: str | None
    output_file_names: list[str]
    operation_id: str | None

    @classmethod
    def parse(cls, body: Any) -> PublishRequest:
        if not isinstance(body, dict):
            raise RelayError(400, "the body must be a JSON object", "body")

        def text(key: str, required: bool = False) -> str | None:
            value = body.get(key)
            if value is None or value == "":
                if required:
                    raise RelayError(400, f"'{key}' is required", key)
                return None
            if not isinstance(value, str):
                raise RelayError(400, f"'{key}' must be a string", key)
            return value

        def names(key: str) -> list[str]:
            value = body.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise RelayError(400, f"'{key}' must be a list of non-empty strings", key)
            return list(dict.fromkeys(value))

        def params(key: str) -> list[dict[str, str]] | None:
            value = body.get(key)
            if value is None:
                return None
            if not isinstance(value, list):
                raise RelayError(400, f"'{key}' must be a list of {{name, type}}", key)
            out = []
            for item in value:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].isidentifier():
                    raise RelayError(400, f"each of '{key}' needs a 'name' that is a Python identifier", key)
                try:
                    wire = param_type(str(item.get("type") or "")).wire
                except ValueError:
                    raise RelayError(400, f"{key} {item['name']}: unknown type {item.get('type')!r}; "
                                          f"use one of {', '.join(WIRE_TYPES)}", key) from None
                out.append({"name": item["name"], "type": wire})
            return out

        request = cls(
            kernel_id=text("kernelId", required=True) or "", name=text("name", required=True) or "",
            version=text("version"), description=text("description"), code=text("code"),
            function_name=text("functionName"), inputs=params("inputs"), outputs=params("outputs"),
            variables=names("variables"), files=names("files"), init_code=text("initCode"),
            output_file_names=names("outputFileNames"), operation_id=text("operationId"),
        )
        for key, value in (("name", request.name), ("version", request.version), ("kernelId", request.kernel_id)):
            check_segment(value, key)
        if (request.code is None) == (request.function_name is None):
            raise RelayError(400, "give either 'code' or 'functionName' (one of them)", "code")
        if request.function_name is not None and not request.function_name.isidentifier():
            raise RelayError(400, "'functionName' must be a Python identifier", "functionName")
        bad = [v for v in request.variables if not v.isidentifier()]
        if bad:
            raise RelayError(400, f"variables must be Python identifiers: {', '.join(bad)}", "variables")
        return request


@dataclass
class Step:
    name: str
    state: str = "pending"  # pending | running | done | failed | skipped
    detail: str | None = None


@dataclass
class PublishJob:
    """One publish run; `to_json` is the answer of ``GET /o16n/publish/{jobId}``."""

    request: PublishRequest
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "running"
    step: str | None = None
    steps: dict[str, Step] = field(default_factory=lambda: {n: Step(n) for n in STEPS})
    bytes_uploaded: int = 0
    total_bytes: int = 0
    service: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    not_captured: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.id, "state": self.state, "step": self.step,
            "steps": [{"name": s.name, "state": s.state, "detail": s.detail} for s in self.steps.values()],
            "bytesUploaded": self.bytes_uploaded, "totalBytes": self.total_bytes,
            "service": self.service, "error": self.error, "notCaptured": self.not_captured,
            "elapsed": round((self.finished or time.time()) - self.started, 3),
        }

    def begin(self, name: str) -> Step:
        self.step = name
        step = self.steps[name]
        step.state = "running"
        return step


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


def function_code(info: dict[str, Any], inputs: list[dict[str, str]], outputs: list[dict[str, str]]) -> str:
    """A kernel function published as its source plus one call line (as the client's ``code_fn``)."""
    declared = {p["name"] for p in inputs}
    args, kwargs, positional_open = [], [], True
    for p in info.get("parameters", []):
        keyword_only = p.get("kind") == "KEYWORD_ONLY"
        if p["name"] in declared and (keyword_only or positional_open):
            (kwargs if keyword_only else args).append(p["name"])
        elif p.get("default") is None:
            raise RelayError(400, f"parameter {p['name']!r} of {info['name']} is not a declared input and has "
                                  "no default", "inputs")
        elif not keyword_only:
            positional_open = False  # later positional parameters would shift: their defaults apply
    return info["source"] + "\n" + call_code(info["name"], args, [o["name"] for o in outputs], kwargs)


def function_inputs(info: dict[str, Any]) -> list[dict[str, str]]:
    """Inputs from a kernel function's annotations (every parameter without a default must map)."""
    inputs = []
    for p in info.get("parameters", []):
        wire = wire_type(p.get("annotation"))
        if wire is None:
            if p.get("default") is not None:
                continue
            raise RelayError(400, f"parameter {p['name']!r} of {info['name']} has no annotation that maps to "
                                  "an o16n type: annotate it or give 'inputs'", "inputs")
        inputs.append({"name": p["name"], "type": wire})
    return inputs


def function_outputs(info: dict[str, Any]) -> list[dict[str, str]]:
    """One output named ``result`` from the return annotation (none for ``-> None`` or no annotation)."""
    returns = info.get("returns")
    if returns in (None, "None"):
        return []
    wire = wire_type(returns)
    if wire is None:
        raise RelayError(400, f"the return annotation {returns!r} of {info['name']} does not map to an o16n type: "
                              "give 'outputs'", "outputs")
    return [{"name": DEFAULT_OUTPUT, "type": wire}]


class Publisher:
    """Runs publish jobs against the connection's o16n server and remembers them for a while."""

    KEEP_SECONDS = 3600
    KEEP_JOBS = 100

    def __init__(self, connection: Any, kernel_manager: Any, root_dir: str, allow_hidden: bool,
                 kernel_timeout: float, capture_dir: str | None) -> None:
        self.connection = connection
        self.kernel_manager = kernel_manager
        self.root_dir = root_dir
        self.allow_hidden = allow_hidden
        self.kernel_timeout = kernel_timeout
        self.capture_dir = capture_dir
        self.jobs: dict[str, PublishJob] = {}
        self._tasks: set[asyncio.Task] = set()

    def confine_files(self, request: PublishRequest) -> list[Path]:
        """The chosen files, confined to Jupyter's root (400 naming 'files' otherwise)."""
        files = [confine(self.root_dir, f, self.allow_hidden) for f in request.files]
        if len({p.name for p in files}) != len(files):
            raise RelayError(400, "two of the files have the same name; the session keeps one folder", "files")
        return files

    def start(self, request: PublishRequest, client: Client, files: list[Path]) -> PublishJob:
        self._forget_old()
        job = PublishJob(request)
        self.jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(self._run(job, client, files))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def _forget_old(self) -> None:
        done = sorted((j for j in self.jobs.values() if j.finished), key=lambda j: j.finished or 0)
        now = time.time()
        for job in done:
            if now - (job.finished or now) > self.KEEP_SECONDS or len(self.jobs) > self.KEEP_JOBS:
                self.jobs.pop(job.id, None)

    async def stop(self, timeout: float = 30.0) -> None:
        """Jupyter is stopping: cancel running jobs; each removes what it created."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def _run(self, job: PublishJob, client: Client, files: list[Path]) -> None:
        workdir: Path | None = None
        created: dict[str, Any] = {}
        try:
            workdir = private_dir(self.capture_dir, "o16n-publish-")
            captured, function = await self._capture(job, workdir)
            inputs, outputs, code = self._definition(job.request, function)
            job.total_bytes = sum(captured.values()) + sum(p.stat().st_size for p in files)
            await self._upload(job, client, workdir, captured, created)
            await self._files(job, client, files, created)
            await self._snapshot(job, client, created)
            await self._publish(job, client, inputs, outputs, code, created)
        except asyncio.CancelledError:
            self._fail(job, RelayError(503, "the Jupyter server is stopping"))
            await self._rollback(client, created, job.service is None)
            raise
        except Exception as exc:  # every failure is reported on the job, never lost in a log
            self._fail(job, exc)
            await self._rollback(client, created, remove_service=True)
        else:
            await self._cleanup(job, client, created)
            job.state = "done"
        finally:
            if workdir is not None:
                remove_dir(workdir)
            job.finished = time.time()

    # ------------------------------------------------------------ steps
    async def _capture(self, job: PublishJob, workdir: Path) -> tuple[dict[str, int], dict[str, Any] | None]:
        step = job.begin("capture")
        request = job.request
        answer = await run_in_kernel(
            self.kernel_manager, request.kernel_id,
            {"command": "capture", "names": request.variables, "dir": str(workdir), "function": request.function_name},
            workdir, timeout=self.kernel_timeout)
        captured: dict[str, int] = answer.get("objects", {})
        job.not_captured = answer.get("failed", {})
        function = answer.get("function")
        if function is not None and function.get("error"):
            raise RelayError(400, function["error"], "functionName")
        step.state = "done"
        step.detail = f"{len(captured)} variable(s), {sum(captured.values())} bytes"
        if job.not_captured:
            step.detail += "; not taken: " + "; ".join(f"{k}: {v}" for k, v in job.not_captured.items())
        return captured, function

    def _definition(self, request: PublishRequest, function: dict[str, Any] | None):
        if function is None:
            return request.inputs or [], request.outputs or [], request.code
        inputs = request.inputs if request.inputs is not None else function_inputs(function)
        outputs = request.outputs if request.outputs is not None else function_outputs(function)
        return inputs, outputs, function_code(function, inputs, outputs)

    async def _upload(self, job: PublishJob, client: Client, workdir: Path, captured: dict[str, int],
                      created: dict[str, Any]) -> None:
        step = job.begin("upload")
        session = await self.connection.run(client.create_session, f"jupyter-publish-{job.request.name}")
        created["session"] = session

        def count(n: int) -> None:
            job.bytes_uploaded += n

        for name, size in captured.items():
            step.detail = f"{name} ({size} bytes)"
            body = _FileBody(workdir / f"{name}.dill", count)
            await self.connection.run(self._put_object, client, session.id, name, body, size)
            (workdir / f"{name}.dill").unlink(missing_ok=True)  # free the disk as we go
        step.state, step.detail = "done", f"{len(captured)} object(s) uploaded"

    @staticmethod
    def _put_object(client: Client, session_id: str, name: str, body: _FileBody, size: int) -> None:
        client.request("POST", api_path("sessions", session_id, "workspace", name), content=body,
                       headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})

    async def _files(self, job: PublishJob, client: Client, files: list[Path], created: dict[str, Any]) -> None:
        step = job.begin("files")
        if not files:
            step.state = "skipped"
            return
        session = created["session"]
        for file in files:
            step.detail = file.name
            size = file.stat().st_size

            def send(file: Path = file) -> None:
                fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                with os.fdopen(fd, "rb") as handle:
                    client.request("POST", api_path("sessions", session.id, "files"),
                                              files={"file": (file.name, handle, "application/octet-stream")})

            try:
                await self.connection.run(send)
            except OSError as exc:
                raise RelayError(400, f"cannot read {file.name}: {exc.strerror}", "files") from None
            job.bytes_uploaded += size
        step.state, step.detail = "done", f"{len(files)} file(s) uploaded"

    async def _snapshot(self, job: PublishJob, client: Client, created: dict[str, Any]) -> None:
        step = job.begin("snapshot")
        created["snapshot"] = await self.connection.run(created["session"].snapshot, f"jupyter-{job.request.name}")
        step.state, step.detail = "done", created["snapshot"]

    async def _publish(self, job: PublishJob, client: Client, inputs: list[dict[str, str]],
                       outputs: list[dict[str, str]], code: str | None, created: dict[str, Any]) -> None:
        step = job.begin("publish")
        request = job.request
        body: dict[str, Any] = {
            "code": code, "runtimeType": "Python", "snapshotId": created["snapshot"],
            "inputParameterDefinitions": inputs, "outputParameterDefinitions": outputs,
            "outputFileNames": request.output_file_names,
        }
        for key, value in (("description", request.description), ("initCode", request.init_code),
                           ("operationId", request.operation_id or request.function_name)):
            if value is not None:
                body[key] = value
        where = api_path("services", request.name, request.version) if request.version else api_path("services", request.name)
        answer = await self.connection.run(lambda: client.request("POST", where, json=body))
        version = request.version or str(answer).rstrip("/").rsplit("/", 1)[-1]
        created["service"] = (request.name, version)
        found = await self.connection.run(client.list_services, request.name, version)
        job.service = found[0] if found else None
        step.state, step.detail = "done", f"{request.name} {version}"

    async def _cleanup(self, job: PublishJob, client: Client, created: dict[str, Any]) -> None:
        step = job.begin("cleanup")
        problems = await self._remove(client, created, remove_service=False)
        step.state = "failed" if problems else "done"
        step.detail = "; ".join(problems) or "session and snapshot removed"

    # ------------------------------------------------------------ failure
    def _fail(self, job: PublishJob, exc: BaseException) -> None:
        if isinstance(exc, KernelUnavailable):
            error = RelayError(exc.status, exc.message)
        elif isinstance(exc, KernelCodeFailed):
            error = RelayError(500, f"the kernel could not do it: {exc}")
        elif isinstance(exc, RelayError):
            error = exc
        elif isinstance(exc, O16nError):
            error = RelayError(exc.status or 502, exc.message, exc.field)
        else:
            error = RelayError(500, f"{type(exc).__name__}: {exc}")
        step = job.step or "capture"
        job.steps[step].state = "failed"
        job.steps[step].detail = error.message
        job.state = "failed"
        job.error = {"step": step, "message": error.message, "field": error.field, "status": error.status}

    async def _rollback(self, client: Client, created: dict[str, Any], remove_service: bool) -> None:
        try:
            await self._remove(client, created, remove_service)
        except Exception:  # best effort; the job already says what failed
            pass

    async def _remove(self, client: Client, created: dict[str, Any], remove_service: bool) -> list[str]:
        problems = []
        if remove_service and "service" in created:
            try:
                await self.connection.run(client.delete_service, *created["service"])
            except RelayError as exc:
                problems.append(f"service: {exc.message}")
        if "session" in created:
            try:
                await self.connection.run(created["session"].close)
            except RelayError as exc:
                problems.append(f"session: {exc.message}")
        if "snapshot" in created:
            try:
                await self.connection.run(client.delete_snapshot, created["snapshot"])
            except RelayError as exc:
                problems.append(f"snapshot: {exc.message}")
        return problems

