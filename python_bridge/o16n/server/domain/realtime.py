"""Realtime services: a model-only kind of service (docs/realtime.md).

A realtime service is a row of the `services` table like any other (so names, versions, roles,
pools, batch and swagger work as for standard services) with `runtime_type = "Realtime"`,
`code = ""`, the fixed I/O `inputData` / `outputData` (data.frame) and, as its `blob`, the sha256
of its ONNX file in the artifact store. The model is checked at publish (`models.check_model`) and
scored by ONNX Runtime: in a sandboxed worker by default (a lean `score` op, one session per
worker), or in this process with `realtime_in_process` (trusted deployments only).
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from ...wire import jsonio
from ..artifacts import ArtifactStore
from ..config import Settings
from ..errors import BadRequest
from ..runtime.onnx_scorer import OnnxScorer, ScoringError  # light: numpy and onnxruntime load when a scorer is made
from ..runtime.replies import ServiceReply
from .models import ModelRef, ModelSignature, check_frame, check_model
from .specs import ServiceSpec

REALTIME = "Realtime"
INPUTS = [{"name": "inputData", "type": "data.frame"}]
OUTPUTS = [{"name": "outputData", "type": "data.frame"}]
IN_LOOP_ROWS = 256  # in-process frames up to this many rows are scored on the event loop (a thread hop costs more)
_KEPT_SCORERS = 32  # in-process ONNX Runtime sessions kept per node (least recently used go)
_KEPT_SIGNATURES = 1024


@dataclass(frozen=True)
class RealtimeDefinition:
    """What a realtime publish (all of it) or patch (only `given`) says: the multipart form's fields."""

    model: bytes | None = None
    description: str | None = None
    operation_id: str | None = None
    given: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, model: bytes | None, description: str | None, operation_id: str | None, *,
           partial: bool) -> RealtimeDefinition:
        values: dict[str, Any] = {}
        if model is not None:
            values["model"] = model
        elif not partial:
            raise BadRequest("'model' is required: send the ONNX file as the multipart file field 'model'", field="model")
        if description is not None:
            values["description"] = description
        if operation_id is not None:
            if operation_id and not operation_id.isidentifier():
                raise BadRequest("'operationId' must be an identifier (letters, digits, '_')", field="operationId")
            values["operation_id"] = operation_id or None
        return cls(**values, given=frozenset(values))


class RealtimeModels:
    """This node's side of realtime models: checking and storing them, their signatures, and (with
    `realtime_in_process`) their ONNX Runtime sessions. Everything is keyed by the model's digest,
    so nothing cached can go stale: a new model is a new digest."""

    def __init__(self, settings: Settings, artifacts: ArtifactStore) -> None:
        self.max_bytes = settings.max_model_bytes
        self.in_process = settings.realtime_in_process
        self.threads = max(1, settings.realtime_threads)
        self.spool = settings.data_dir / "spool"
        self.artifacts = artifacts
        self._signatures: OrderedDict[str, tuple[ModelSignature, int, str]] = OrderedDict()
        self._scorers: OrderedDict[str, OnnxScorer] = OrderedDict()

    async def store(self, data: bytes) -> str:
        """Check the model (a 400 naming why it is refused) and store it; its digest."""
        signature = await run_in_threadpool(check_model, data, self.max_bytes)
        digest = await run_in_threadpool(self._put, data)
        path = await run_in_threadpool(self.artifacts.blob_path, digest)
        self._remember(digest, (signature, len(data), str(path)))
        return digest

    def _put(self, data: bytes) -> str:
        self.spool.mkdir(mode=0o700, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.spool, suffix=".onnx")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            digest, _size = self.artifacts.put_blob(Path(temp))
        finally:
            Path(temp).unlink(missing_ok=True)
        return digest

    async def _described(self, digest: str) -> tuple[ModelSignature, int, str]:
        known = self._signatures.get(digest)
        if known is not None:
            self._signatures.move_to_end(digest)
            return known
        path = await run_in_threadpool(self.artifacts.blob_path, digest)  # a local copy (fetched once from S3)

        def read() -> tuple[ModelSignature, int, str]:
            data = path.read_bytes()
            return check_model(data, max(self.max_bytes, len(data))), len(data), str(path)

        described = await run_in_threadpool(read)
        self._remember(digest, described)
        return described

    def _remember(self, digest: str, described: tuple[ModelSignature, int, str]) -> None:
        self._signatures[digest] = described
        while len(self._signatures) > _KEPT_SIGNATURES:
            self._signatures.popitem(last=False)

    async def describe(self, digest: str) -> dict[str, object]:
        """The `model` member of the service's view: inputs, outputs, sizeBytes."""
        signature, size, _path = await self._described(digest)
        return {**signature.to_json(), "sizeBytes": size}

    async def ref(self, digest: str) -> ModelRef:
        """What the consume path needs; with `realtime_in_process` a warm ONNX Runtime session too."""
        signature, size, path = await self._described(digest)
        scorer = None
        if self.in_process:
            scorer = self._scorers.get(digest)
            if scorer is None:
                data = await run_in_threadpool(Path(path).read_bytes)
                scorer = await run_in_threadpool(OnnxScorer, data, self.threads)
                self._scorers[digest] = scorer
                while len(self._scorers) > _KEPT_SCORERS:
                    self._scorers.popitem(last=False)
            self._scorers.move_to_end(digest)
        return ModelRef(digest, path, signature, size, scorer)

    def forget(self, digest: str) -> None:
        """The model's blob was deleted: drop what this node keeps of it."""
        self._signatures.pop(digest, None)
        self._scorers.pop(digest, None)


async def score_model(spec: ServiceSpec, inputs: dict[str, Any]) -> tuple[int, ServiceReply] | None:
    """The realtime part of one consume: a frame that does not fit the model is a 400 here (before
    any worker); with an in-process scorer the answer itself. None: a sandboxed worker scores it."""
    model = spec.model
    assert model is not None
    frame = inputs.get("inputData")
    if not isinstance(frame, dict):
        return 400, ServiceReply.failure("'inputData' must be a data frame")
    try:
        rows = check_frame(model.signature, frame)
    except BadRequest as exc:
        return 400, ServiceReply.failure(exc.message)
    if model.scorer is None:
        return None
    if rows <= IN_LOOP_ROWS:
        return 200, _score_here(model.scorer, frame)
    return 200, await run_in_threadpool(_score_here, model.scorer, frame)  # ONNX Runtime releases the GIL


def _score_here(scorer: OnnxScorer, frame: dict[str, list[Any]]) -> ServiceReply:
    try:
        outputs = {"outputData": scorer.score(frame)}
    except ScoringError as exc:
        return ServiceReply.failure(str(exc))
    return ServiceReply(True, "", "", outputs=outputs, outputs_json=jsonio.dumps(outputs))


def merge_frames(spec: ServiceSpec, records: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], list[int]] | None:
    """A batch chunk of a realtime service as one frame (scored in one run): the merged columns and
    each record's row count; None when a record does not fit the model or the records' columns
    differ (the chunk is then run record by record, each with its own answer)."""
    model = spec.model
    assert model is not None
    frames: list[dict[str, list[Any]]] = []
    counts: list[int] = []
    columns: list[str] | None = None
    for record in records:
        frame = record.get("inputData")
        if not isinstance(frame, dict):
            return None
        try:
            rows = check_frame(model.signature, frame)
        except BadRequest:
            return None
        if columns is None:
            columns = list(frame)
        elif list(frame) != columns:
            return None
        frames.append(frame)
        counts.append(rows)
    return concat_frames(frames), counts


def concat_frames(frames: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """Frames with the same columns, in the same order, as one frame: their rows end to end."""
    if len(frames) <= 1:
        return frames[0] if frames else {}
    return {name: [value for frame in frames for value in frame[name]] for name in frames[0]}


def split_reply(reply: ServiceReply, counts: list[int]) -> list[ServiceReply] | None:
    """One scored frame back into the records' answers, `counts` rows each; None when the answer
    is not a frame of the merged rows (the chunk is then run record by record)."""
    frame = reply.outputs.get("outputData") if reply.success else None
    if not isinstance(frame, dict) or any(not isinstance(c, list) or len(c) != sum(counts) for c in frame.values()):
        return None
    replies, start = [], 0
    for rows in counts:
        outputs = {"outputData": {name: column[start:start + rows] for name, column in frame.items()}}
        replies.append(ServiceReply(True, "", "", outputs=outputs, outputs_json=jsonio.dumps(outputs)))
        start += rows
    return replies
