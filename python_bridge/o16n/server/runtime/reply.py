"""What one service request answered, ready for HTTP: the six-key WebServiceResult.

The outputs and output files arrive from the worker as JSON texts that protocol.parse_execute
has checked to be one JSON object each; `to_json()` splices them into the envelope as they are,
so a large answer (a 1,000-row data frame) is not decoded into Python objects and encoded again
on its way through the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .protocol import ExecuteReply


def _text(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ServiceReply:
    success: bool
    error_message: str
    console_output: str
    changed_files: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # JSON-ready
    output_files: dict[str, str | None] = field(default_factory=dict)  # name -> base64 (None: not written)
    unhealthy: bool = False
    outputs_json: bytes = b"{}"
    output_files_json: bytes = b"{}"

    @classmethod
    def of(cls, reply: ExecuteReply) -> ServiceReply:
        return cls(reply.success, reply.error_message, reply.console_output, reply.changed_files, reply.outputs,
                   reply.output_files, reply.unhealthy, reply.outputs_json, reply.output_files_json)

    @classmethod
    def failure(cls, message: str) -> ServiceReply:
        """An answer for a request that never ran (or whose worker failed)."""
        return cls(False, message, "")

    def to_result(self) -> dict[str, Any]:
        """The six keys every client reads; all always present."""
        return {
            "success": self.success,
            "errorMessage": self.error_message,
            "consoleOutput": self.console_output,
            "changedFiles": self.changed_files,
            "outputFiles": self.output_files,
            "outputParameters": self.outputs,
        }

    def to_json(self) -> bytes:
        """`to_result()` as JSON bytes, with the worker's checked output texts passed through."""
        return b"".join((
            b'{"success":', b"true" if self.success else b"false",
            b',"errorMessage":', _text(self.error_message),
            b',"consoleOutput":', _text(self.console_output),
            b',"changedFiles":', _text(self.changed_files),
            b',"outputFiles":', self.output_files_json,
            b',"outputParameters":', self.outputs_json,
            b"}",
        ))
