"""Remote Python sessions on the server: execute code, hold objects, take snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from .capture import CaptureResult, Serialized
from .encoding import to_json
from .errors import NotFound
from .transport import path

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .transport import Transport


@dataclass
class ExecuteResult:
    """The answer of ``POST /sessions/{id}/execute`` (an ExecuteResponse)."""

    success: bool
    error: str = ""
    console_output: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    changed_files: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ExecuteResult:
        lowered = {str(k).lower(): v for k, v in (body or {}).items()}
        outputs: dict[str, Any] = {}
        for item in lowered.get("outputparameters") or []:
            item_l = {str(k).lower(): v for k, v in item.items()}
            outputs[str(item_l.get("name"))] = item_l.get("value")
        return cls(success=bool(lowered.get("success")), error=lowered.get("errormessage") or "",
                   console_output=lowered.get("consoleoutput") or "", outputs=outputs,
                   changed_files=list(lowered.get("changedfiles") or []), raw=body or {})


class Session:
    """A live Python session on the server. Use as a context manager to close it."""

    def __init__(self, client: Client, session_id: str, name: str | None = None) -> None:
        self._client = client
        self.id = session_id
        self.name = name
        self.closed = False

    @property
    def _t(self) -> Transport:
        return self._client._transport

    def _p(self, *more: Any) -> str:
        return path("sessions", self.id, *more)

    def execute(self, code: str, inputs: dict[str, Any] | None = None,
                outputs: list[str] | tuple[str, ...] | None = None) -> ExecuteResult:
        """Run ``code`` with ``inputs`` bound as variables; read back the ``outputs`` variables."""
        body = {
            "code": code,
            "inputParameters": [{"name": k, "value": to_json(v)} for k, v in (inputs or {}).items()],
            "outputParameters": list(outputs or []),
        }
        return ExecuteResult.from_json(self._t.request("POST", self._p("execute"), json=body))

    def put_object(self, name: str, obj: Any) -> None:
        """Store ``obj`` (dill-serialized here, or already `Serialized`) as workspace object ``name``."""
        if isinstance(obj, Serialized):
            data = obj.data
        else:
            import dill
            data = dill.dumps(obj)
        self.upload_object(name, data)

    def upload_object(self, name: str, content: bytes | Iterable[bytes], size: int | None = None) -> None:
        """Upload already dill-serialized bytes as object ``name``; ``content`` may be a re-iterable
        stream of chunks (sent again from the start if a 401 makes the client retry)."""
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        self._t.request("POST", self._p("workspace", name), content=content, headers=headers)

    def upload_file(self, file_name: str, handle: BinaryIO) -> None:
        """Put a file into the session's working directory (``POST /sessions/{id}/files``)."""
        self._t.request("POST", self._p("files"), files={"file": (file_name, handle, "application/octet-stream")})

    def put_capture(self, captured: CaptureResult) -> list[str]:
        """Upload every object of a `capture()` result; returns the names uploaded."""
        for name, blob in captured.objects.items():
            self.put_object(name, blob)
        return list(captured.objects)

    def get_object(self, name: str) -> Any:
        """Fetch a workspace object and unpickle it locally (your own data only)."""
        import dill
        response = self._t.request("GET", self._p("workspace", name), raw=True)
        return dill.loads(response.content)

    def list_objects(self) -> list[str]:
        return list(self._t.request("GET", self._p("workspace")) or [])

    def delete_object(self, name: str) -> None:
        self._t.request("DELETE", self._p("workspace", name))

    def console_output(self) -> str:
        body = self._t.request("GET", self._p("console-output")) or {}
        return {str(k).lower(): v for k, v in body.items()}.get("consoleoutput", "") if isinstance(body, dict) else str(body)

    def history(self) -> list[str]:
        return list(self._t.request("GET", self._p("history")) or [])

    def snapshot(self, name: str | None = None) -> str:
        """Snapshot the workspace and working directory; returns the snapshot id."""
        body = self._t.request("POST", self._p("snapshot"), json={"name": name} if name else {})
        lowered = {str(k).lower(): v for k, v in (body or {}).items()} if isinstance(body, dict) else {}
        snapshot_id = lowered.get("snapshotid")
        if not snapshot_id:
            raise NotFound("the server did not return a snapshotId", body=body)
        return snapshot_id

    def load_snapshot(self, snapshot_id: str) -> None:
        self._t.request("POST", self._p("loadsnapshot", snapshot_id))

    def cancel(self) -> None:
        self._t.request("POST", self._p("cancel"))

    def close(self, force: bool = False) -> None:
        """Close the session (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._t.request("DELETE", self._p("force") if force else self._p())

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.close()
        except Exception:
            if exc[0] is None:
                raise

    def __repr__(self) -> str:
        return f"<Session {self.id}{' (closed)' if self.closed else ''}>"
