"""Results of consuming a service: one call (`ServiceResult`) or a batch (`BatchResult`)."""

from __future__ import annotations

import base64
import html
import json
import warnings
from typing import Any

from .encoding import ParamType, decode_output

RESULT_MIME = "application/vnd.o16n.result+json"


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ServiceResult:
    """The answer of one consume call (a WebServiceResult), with outputs decoded to Python.

    ``outputs`` maps output name -> decoded value; ``raw_outputs`` keeps the JSON as received.
    ``error``/``console_output``/``success``/``changed_files``/``output_files`` mirror the wire;
    output files are Base64 on the wire and decoded on demand with :meth:`output_file`.
    """

    def __init__(self, body: dict[str, Any] | None, *, name: str | None = None, version: str | None = None,
                 output_types: dict[str, ParamType] | None = None, elapsed: float | None = None) -> None:
        body = body or {}
        lowered = {str(k).lower(): v for k, v in body.items()}
        self.name = name
        self.version = version
        self.raw = body
        self.success: bool = bool(lowered.get("success", False))
        self.error: str = lowered.get("errormessage") or ""
        self.console_output: str = lowered.get("consoleoutput") or ""
        self.changed_files: list[str] = list(lowered.get("changedfiles") or [])
        self.output_files: dict[str, str | None] = dict(lowered.get("outputfiles") or {})
        self.raw_outputs: dict[str, Any] = dict(lowered.get("outputparameters") or {})
        self.elapsed = elapsed
        types = output_types or {}
        self.outputs: dict[str, Any] = {k: decode_output(types.get(k), v) for k, v in self.raw_outputs.items()}

    # ------------------------------------------------------------------ access
    def output(self, name: str | None = None) -> Any:
        """One output by name; with no name, the only output (ValueError if there are several)."""
        if name is None:
            if len(self.outputs) == 1:
                return next(iter(self.outputs.values()))
            raise ValueError(f"this result has {len(self.outputs)} outputs; name one of {sorted(self.outputs)}")
        return self.outputs[name]

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]

    def __contains__(self, name: object) -> bool:
        return name in self.outputs

    def output_file(self, name: str, decode: bool = True, encoding: str | None = None) -> bytes | str | None:
        """The content of one output file: bytes (or text when ``encoding`` is given); None if absent."""
        if name not in self.output_files:
            raise KeyError(f"no output file {name!r}; this result has {sorted(self.output_files)}")
        data = self.output_files[name]
        if data is None or not decode:
            return data
        content = base64.b64decode(data)
        return content.decode(encoding) if encoding else content

    @property
    def artifacts(self) -> dict[str, str | None]:
        """Deprecated name of `output_files` (name -> Base64 text, None when not written)."""
        _deprecated("ServiceResult.artifacts", "output_files")
        return self.output_files

    def artifact(self, name: str, decode: bool = True, encoding: str | None = None) -> bytes | str | None:
        """Deprecated name of `output_file`."""
        _deprecated("ServiceResult.artifact()", "output_file()")
        return self.output_file(name, decode, encoding)

    def raise_for_error(self) -> ServiceResult:
        """Raise ``ServiceFailed`` when the service code failed; returns self otherwise."""
        if not self.success:
            raise ServiceFailed(self)
        return self

    # ------------------------------------------------------------------ display
    def to_json(self) -> dict[str, Any]:
        """The JSON object of the ``application/vnd.o16n.result+json`` MIME type."""
        return {
            "name": self.name,
            "version": self.version,
            "success": self.success,
            "errorMessage": self.error,
            "consoleOutput": self.console_output,
            "outputParameters": self.raw_outputs,
            "outputFiles": sorted(self.output_files),
            "changedFiles": self.changed_files,
            "elapsed": self.elapsed,
        }

    def __repr__(self) -> str:
        head = f"{self.name or 'service'} {self.version or ''}".strip()
        status = "ok" if self.success else "FAILED"
        timing = f" in {self.elapsed * 1000:.0f} ms" if self.elapsed is not None else ""
        lines = [f"<ServiceResult {head}: {status}{timing}>"]
        for k, v in self.outputs.items():
            lines.append(f"  {k} = {_short(v)}")
        if self.error:
            lines.append(f"  error: {self.error.strip()}")
        if self.console_output.strip():
            lines.append("  console: " + self.console_output.strip().replace("\n", "\n           "))
        if self.output_files:
            lines.append(f"  files: {', '.join(sorted(self.output_files))}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = esc(f"{self.name or 'service'} {self.version or ''}".strip())
        color = "#2e7d32" if self.success else "#c62828"
        status = "success" if self.success else "failed"
        timing = f" &middot; {self.elapsed * 1000:.0f} ms" if self.elapsed is not None else ""
        parts = [f'<div class="o16n-result"><b>{head}</b> <span style="color:{color}">{status}</span>{timing}']
        if self.outputs:
            rows = []
            for k, v in self.outputs.items():
                if hasattr(v, "_repr_html_") and hasattr(v, "columns"):
                    cell = v._repr_html_()
                else:
                    cell = f"<pre style='margin:0'>{esc(_short(v, 2000))}</pre>"
                rows.append(f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{cell}</td></tr>")
            parts.append("<table>" + "".join(rows) + "</table>")
        if self.error:
            parts.append(f"<pre style='color:{color}'>{esc(self.error)}</pre>")
        if self.console_output.strip():
            parts.append(f"<details><summary>console output</summary><pre>{esc(self.console_output)}</pre></details>")
        if self.output_files:
            parts.append("<div>files: " + ", ".join(esc(n) for n in sorted(self.output_files)) + "</div>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = {
            RESULT_MIME: json.loads(json.dumps(self.to_json(), default=str)),
            "text/html": self._repr_html_(),
            "text/plain": repr(self),
        }
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle


class ServiceFailed(Exception):
    """Raised by :meth:`ServiceResult.raise_for_error` when the service code failed."""

    def __init__(self, result: ServiceResult) -> None:
        super().__init__(result.error.strip() or "the service reported failure")
        self.result = result


class BatchResult:
    """The state of a batch execution (a BatchWebServiceResult)."""

    def __init__(self, body: dict[str, Any], *, execution_id: str, name: str | None = None,
                 version: str | None = None, output_types: dict[str, ParamType] | None = None) -> None:
        lowered = {str(k).lower(): v for k, v in (body or {}).items()}
        self.execution_id = execution_id
        self.name = name
        self.version = version
        self.raw = body
        self.state: str = str(lowered.get("state") or "")
        self.completed_item_count: int = int(lowered.get("completeditemcount") or 0)
        self.total_item_count: int = int(lowered.get("totalitemcount") or 0)
        self._items = list(lowered.get("batchexecutionresults") or [])
        self._types = output_types or {}

    @property
    def done(self) -> bool:
        return self.state.lower() in ("complete", "completed", "failed")

    @property
    def failed(self) -> bool:
        return self.state.lower() == "failed"

    def __len__(self) -> int:
        return len(self._items)

    def execution(self, index: int) -> ServiceResult:
        """The result of record ``index`` (0-based, aligned with the submitted records)."""
        return ServiceResult(self._items[index], name=self.name, version=self.version, output_types=self._types)

    @property
    def results(self) -> list[ServiceResult]:
        return [self.execution(i) for i in range(len(self._items))]

    def outputs(self, name: str | None = None) -> list[Any]:
        """One output across all records (None for records without a result yet)."""
        out: list[Any] = []
        for item in self.results:
            if not item.raw:
                out.append(None)
            else:
                out.append(item.output(name) if item.outputs else None)
        return out

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per record, one column per output, plus success and error."""
        import pandas as pd
        rows = []
        for r in self.results:
            row = {k: v for k, v in r.outputs.items()}
            row["success"] = r.success
            row["error"] = r.error
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        ok = sum(1 for r in self.results if r.success)
        return (f"<BatchResult {self.name} {self.version} {self.execution_id}: {self.state} "
                f"{self.completed_item_count}/{self.total_item_count} done, {ok} succeeded>")

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (f"<b>{esc(str(self.name))} {esc(str(self.version))}</b> batch {esc(self.execution_id)}: "
                f"{esc(self.state)} {self.completed_item_count}/{self.total_item_count}")
        try:
            frame = self.to_frame()
            return f"<div>{head}</div>" + frame.to_html(max_rows=20)
        except Exception:
            return f"<div>{head}</div>"
