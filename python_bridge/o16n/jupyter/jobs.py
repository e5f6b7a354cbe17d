"""Publish jobs and where they are kept: one JSON file per job, so jobs survive a JupyterLab restart.

A job's file is rewritten (atomically, 0600) whenever its state or a step changes, with what it
created on the o16n server so far (session, snapshot, service). When Jupyter starts again, a job
that was still running is marked failed and keeps a pending clean-up, which the Publisher carries
out as soon as it can reach the o16n server (`JobStore.load` + `Publisher.recover`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bodies import PublishRequest
from .credentials import write_private_json
from .errors import RelayError

STEPS = ("capture", "upload", "files", "snapshot", "publish", "cleanup")
ENVIRONMENT_STEPS = ("capture", "environment", "upload", "files", "snapshot", "publish", "cleanup")
REALTIME_STEPS = ("convert", "publish")


def steps_for(request: PublishRequest) -> tuple[str, ...]:
    """A job's steps: a realtime model is converted in the kernel and published; a script service
    with an environment has it built right after the capture."""
    if request.kind == "realtime":
        return REALTIME_STEPS
    return ENVIRONMENT_STEPS if request.environment is not None else STEPS


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
    steps: dict[str, Step] = field(default_factory=dict)
    bytes_uploaded: int = 0
    total_bytes: int = 0
    service: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    not_captured: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    # On the o16n server, for clean-up: {"session": id, "snapshot": id, "service": [name, version]}.
    created: dict[str, Any] = field(default_factory=dict)
    cleanup_pending: bool = False
    # packages the objects come from whose kernel version differs from the server's (published
    # without an environment): [{name, kernelVersion, serverVersion}]
    version_skew: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] | None = None  # the server's Environment, once built
    model: dict[str, Any] | None = None  # realtime: {inputs, outputs, sizeBytes} of the converted model

    def __post_init__(self) -> None:
        if not self.steps:
            self.steps = {n: Step(n) for n in steps_for(self.request)}

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.id, "state": self.state, "step": self.step,
            "steps": [{"name": s.name, "state": s.state, "detail": s.detail} for s in self.steps.values()],
            "bytesUploaded": self.bytes_uploaded, "totalBytes": self.total_bytes,
            "service": self.service, "error": self.error, "notCaptured": self.not_captured,
            "elapsed": round((self.finished or time.time()) - self.started, 3),
            "name": self.request.name, "version": self.request.version, "notebook": self.request.notebook,
            "startedAt": self.started, "kind": self.request.kind, "versionSkew": self.version_skew,
            "environment": self.environment, "model": self.model,
        }

    def begin(self, name: str) -> Step:
        self.step = name
        step = self.steps[name]
        step.state = "running"
        return step

    # ------------------------------------------------------------ on disk
    def to_record(self) -> dict[str, Any]:
        return {**self.to_json(), "request": self.request.to_json(), "created": self.created,
                "cleanupPending": self.cleanup_pending, "finished": self.finished}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PublishJob:
        job = cls(PublishRequest.from_json(record["request"]), id=record["jobId"], state=record["state"],
                  step=record.get("step"), bytes_uploaded=record.get("bytesUploaded", 0),
                  total_bytes=record.get("totalBytes", 0), service=record.get("service"), error=record.get("error"),
                  not_captured=record.get("notCaptured") or {}, started=record.get("startedAt") or time.time(),
                  finished=record.get("finished"), created=record.get("created") or {},
                  cleanup_pending=bool(record.get("cleanupPending")),
                  version_skew=record.get("versionSkew") or [], environment=record.get("environment"),
                  model=record.get("model"))
        for item in record.get("steps", []):
            if item.get("name") in job.steps:
                job.steps[item["name"]] = Step(item["name"], item.get("state", "pending"), item.get("detail"))
        return job

    def interrupted(self) -> None:
        """Jupyter stopped while this job ran: it failed, and what it created is still to be removed."""
        step = self.step or next(iter(self.steps))
        message = (f"JupyterLab stopped while this job was at step '{step}': nothing was published; "
                   "what it had created on the o16n server is removed")
        self.steps[step].state = "failed"
        self.steps[step].detail = "interrupted: JupyterLab stopped"
        self.state = "failed"
        self.error = {"step": step, "message": message, "field": None, "status": 503}
        self.finished = self.finished or time.time()
        self.cleanup_pending = bool(self.created)
        if "cleanup" not in self.steps and not self.created:
            return  # a realtime job that had published nothing
        cleanup = self.steps.setdefault("cleanup", Step("cleanup"))
        cleanup.state, cleanup.detail = ("pending", "removing what the job created") if self.created else \
            ("done", "nothing to remove")


class JobStore:
    """Jobs in ``directory`` (0700), one ``<jobId>.json`` each."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def save(self, job: PublishJob) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        write_private_json(self.directory / f"{job.id}.json", job.to_record())

    def delete(self, job_id: str) -> None:
        (self.directory / f"{job_id}.json").unlink(missing_ok=True)

    def load(self) -> list[PublishJob]:
        """Every readable job; one still `running` was interrupted by a stop (see `interrupted`)."""
        jobs = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                job = PublishJob.from_record(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RelayError):
                continue  # a torn or foreign file, or a request this version no longer takes
            if job.state == "running":
                job.interrupted()
                self.save(job)
            jobs.append(job)
        return jobs
