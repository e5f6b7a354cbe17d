"""A published web service you can call: `Service`, and its asynchronous `Batch` executions."""

from __future__ import annotations

import inspect
import keyword
import os
import time
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .encoding import ParamType, encode_input, from_definitions, to_json
from .errors import InvalidInput
from .results import BatchResult, ServiceResult
from .transport import path

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


class Service:
    """A consumable web service (one name + version).

    Call it with keyword or positional inputs (``svc(x=1)``, ``svc(1)``) or through the method named
    after its operation id (``svc.score(...)``); every call returns a :class:`ServiceResult`.
    """

    def __init__(self, client: Client, meta: dict[str, Any], *,
                 input_types: dict[str, ParamType] | None = None,
                 output_types: dict[str, ParamType] | None = None) -> None:
        lowered = {str(k).lower(): v for k, v in meta.items()}
        self._client = client
        self.meta = meta
        self.name: str = str(lowered.get("name"))
        self.version: str = str(lowered.get("version"))
        self.description: str = lowered.get("description") or ""
        self.operation_id: str | None = lowered.get("operationid") or None
        self.runtime_type: str | None = lowered.get("runtimetype")
        self.published_by: str | None = lowered.get("versionpublishedby")
        self.creation_time: str | None = lowered.get("creationtime")
        self.snapshot_id: str | None = lowered.get("snapshotid")
        self.code: str | None = lowered.get("code")
        self.init_code: str | None = lowered.get("initcode")
        self.output_file_names: list[str] = list(lowered.get("outputfilenames") or [])
        self.permission: str | None = lowered.get("mypermissiononservice")
        # o16n extensions: the environment it runs in ({key, python, packages} | None: the server's
        # own) and a realtime service's model ({inputs, outputs, sizeBytes})
        self.environment: dict[str, Any] | None = lowered.get("environment")
        self.model: dict[str, Any] | None = lowered.get("model")
        # set by a publish from this client: the built environment, and the version skew against the
        # server's own environment when published without one (None: the server did not say)
        self.built_environment: dict[str, Any] | None = None
        self.version_skew: list[Any] | None = []
        wire_in = from_definitions(lowered.get("inputparameterdefinitions"))
        wire_out = from_definitions(lowered.get("outputparameterdefinitions"))
        # keep the Python flavour the user declared, when it agrees with what the server stored
        self.inputs: dict[str, ParamType] = {k: (input_types or {}).get(k, v) if (input_types or {}).get(k, v).wire == v.wire else v
                                             for k, v in wire_in.items()}
        self.outputs: dict[str, ParamType] = {k: (output_types or {}).get(k, v) if (output_types or {}).get(k, v).wire == v.wire else v
                                              for k, v in wire_out.items()}
        self._install_operation()

    @property
    def artifacts(self) -> list[str]:
        """Deprecated name of `output_file_names`."""
        _deprecated("Service.artifacts", "output_file_names")
        return self.output_file_names

    # ------------------------------------------------------------ consume
    @property
    def api(self) -> str:
        return path("api", self.name, self.version)

    def _install_operation(self) -> None:
        op = self.operation_id or "consume"
        params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in self.inputs
                  if n.isidentifier() and not keyword.iskeyword(n)]

        def operation(*args: Any, **kwargs: Any) -> ServiceResult:
            return self.consume(*args, **kwargs)

        operation.__name__ = op
        operation.__doc__ = self._docstring()
        try:
            operation.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        except ValueError:
            pass
        self._operation = operation
        if op.isidentifier() and not keyword.iskeyword(op) and not hasattr(type(self), op):
            setattr(self, op, operation)
        self.__doc__ = self._docstring()

    def _docstring(self) -> str:
        lines = [self.description or f"Consume {self.name} {self.version}.", ""]
        for n, t in self.inputs.items():
            lines.append(f":param {t.python_name} {n}: ({t.wire})")
        for n, t in self.outputs.items():
            lines.append(f":returns: {n} ({t.wire} -> {t.python_name})")
        return "\n".join(lines)

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        names = list(self.inputs)
        if len(args) > len(names):
            raise TypeError(f"{self.name} {self.version} takes {len(names)} input(s) "
                            f"({', '.join(names) or 'none'}), {len(args)} given")
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            if key in bound:
                raise TypeError(f"input {key!r} given twice (positionally and by name)")
            if key not in self.inputs:
                raise TypeError(f"{self.name} {self.version} has no input {key!r}; inputs: {', '.join(names) or 'none'}")
            bound[key] = value
        missing = [n for n in names if n not in bound]
        if missing:
            raise TypeError(f"missing input(s) for {self.name} {self.version}: {', '.join(missing)}")
        return {n: encode_input(self.inputs[n], bound[n]) for n in names}

    def consume(self, *args: Any, **kwargs: Any) -> ServiceResult:
        """Run the service once; inputs positionally (declared order) or by name."""
        result = self._client.consume(self.name, self.version, self._bind(args, kwargs))
        return ServiceResult(result.raw, name=self.name, version=self.version,
                             output_types=self.outputs, elapsed=result.elapsed)

    __call__ = consume

    # ------------------------------------------------------------ describe
    def swagger(self) -> dict[str, Any]:
        """The service's swagger 2.0 document (``GET /api/{name}/{version}/swagger.json``)."""
        return self._client.swagger(self.name, self.version)

    def capabilities(self) -> dict[str, Any]:
        """What this service is and how to call it (the same keys as the Microsoft SDK's)."""
        op = self.operation_id or "consume"
        return {
            "api": self.api,
            "name": self.name,
            "version": self.version,
            "published_by": self.published_by,
            "runtime": self.runtime_type,
            "description": self.description,
            "creation_time": self.creation_time,
            "snapshot_id": self.snapshot_id,
            "inputs": {n: t.wire for n, t in self.inputs.items()},
            "outputs": {n: t.wire for n, t in self.outputs.items()},
            "inputs_encoded": {n: t.python_name for n, t in self.inputs.items()},
            "outputs_encoded": {n: t.python_name for n, t in self.outputs.items()},
            "artifacts": list(self.output_file_names),  # the Microsoft SDK's key
            "operation_id": op,
            "swagger": self._client.url + self.api + "/swagger.json",
            "public-functions": {
                op: f"{op}({', '.join(self.inputs)})",
                "capabilities": "capabilities()",
                "swagger": "swagger()",
                "batch": "batch(records, parallel_count=10)",
                "get_batch": "get_batch(execution_id)",
                "list_batch_executions": "list_batch_executions()",
            },
        }

    # ------------------------------------------------------------ batch
    def batch(self, records: Any, parallel_count: int = 10) -> Batch:
        """Prepare an asynchronous batch over ``records`` (DataFrame, list of dicts, dict of columns).

        Nothing is sent until :meth:`Batch.start`.
        """
        return Batch(self, self._records(records), parallel_count=parallel_count)

    def get_batch(self, execution_id: str) -> Batch:
        """A handle on an existing batch execution."""
        return Batch(self, [], execution_id=execution_id)

    def list_batch_executions(self) -> list[str]:
        return self._client.list_batch_executions(self.name, self.version)

    def _records(self, records: Any) -> list[dict[str, Any]]:
        if not self.inputs:
            raise ValueError(f"{self.name} {self.version} takes no inputs; a batch needs at least one")
        names = list(self.inputs)
        if hasattr(records, "columns") and hasattr(records, "to_dict"):  # DataFrame
            missing = [n for n in names if n not in records.columns]
            if missing:
                raise ValueError(f"the DataFrame lacks column(s) {', '.join(missing)} needed by {self.name}")
            rows = records[names].to_dict(orient="records")
        elif isinstance(records, dict):
            columns = {k: list(to_json(v)) if not isinstance(v, list) else v for k, v in records.items()}
            lengths = {len(v) for v in columns.values()}
            if len(lengths) > 1:
                raise ValueError("every column of a dict of columns must have the same length")
            count = lengths.pop() if lengths else 0
            rows = [{k: columns[k][i] for k in columns} for i in range(count)]
        elif isinstance(records, Iterable) and not isinstance(records, (str, bytes)):
            rows = []
            for i, rec in enumerate(records):
                if isinstance(rec, dict):
                    rows.append(rec)
                elif isinstance(rec, (list, tuple)) and len(rec) == len(names):
                    rows.append(dict(zip(names, rec)))
                else:
                    raise ValueError(f"record {i} must be a dict of inputs or a sequence of {len(names)} values")
        else:
            raise ValueError("records must be a DataFrame, a list of dicts or a dict of columns")
        out = []
        for i, row in enumerate(rows):
            unknown = [k for k in row if k not in self.inputs]
            if unknown:
                raise ValueError(f"record {i}: unknown input(s) {', '.join(map(str, unknown))}")
            out.append({n: encode_input(self.inputs[n], row[n]) for n in names if n in row})
        return out

    def __repr__(self) -> str:
        ins = ", ".join(f"{n}: {t.wire}" for n, t in self.inputs.items())
        outs = ", ".join(f"{n}: {t.wire}" for n, t in self.outputs.items())
        return f"<Service {self.name} {self.version} {self.operation_id or 'consume'}({ins}) -> ({outs})>"


class Batch:
    """An asynchronous batch execution of a service over many records."""

    def __init__(self, service: Service, records: list[dict[str, Any]], *, parallel_count: int = 10,
                 execution_id: str | None = None) -> None:
        self.service = service
        self.records = records
        self.parallel_count = parallel_count
        self.execution_id = execution_id

    @property
    def _client(self) -> Client:
        return self.service._client

    def _need_id(self) -> str:
        if not self.execution_id:
            raise InvalidInput("this batch has not been started; call start() first")
        return self.execution_id

    def start(self) -> Batch:
        """``POST /api/{name}/{version}/batch?parallelCount=N`` with the records; returns self."""
        self.execution_id = self._client.start_batch(self.service.name, self.service.version, self.records,
                                                     self.parallel_count)
        return self

    def results(self, show_partial_results: bool = True) -> BatchResult:
        """The current state and (partial) results."""
        execution_id = self._need_id()
        body = self._client.batch_status(self.service.name, self.service.version, execution_id, show_partial_results)
        return BatchResult(body, execution_id=execution_id, name=self.service.name,
                           version=self.service.version, output_types=self.service.outputs)

    def wait(self, timeout: float | None = None, poll_interval: float = 0.5, progress: bool = True) -> BatchResult:
        """Poll until Complete or Failed, showing a progress bar; returns the final BatchResult.

        Raises TimeoutError when ``timeout`` seconds pass first.
        """
        bar = None
        total = len(self.records) or None
        if progress:
            try:
                import warnings
                with warnings.catch_warnings():  # no "IProgress not found" noise without ipywidgets
                    warnings.simplefilter("ignore")
                    from tqdm.auto import tqdm
                bar = tqdm(total=total, desc=f"{self.service.name} {self.service.version}", unit="rec")
            except ImportError:  # pragma: no cover
                bar = None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                result = self.results(show_partial_results=True)
                if bar is not None:
                    if result.total_item_count and bar.total != result.total_item_count:
                        bar.total = result.total_item_count
                    bar.n = result.completed_item_count
                    bar.set_postfix_str(result.state, refresh=False)
                    bar.refresh()
                if result.done:
                    return result
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"batch {self.execution_id} still {result.state} after {timeout} s "
                                       f"({result.completed_item_count}/{result.total_item_count} done)")
                time.sleep(poll_interval)
        finally:
            if bar is not None:
                bar.close()

    def cancel(self) -> list[str]:
        """``DELETE`` the execution: cancels what is still running and deletes its results."""
        return self._client.cancel_batch(self.service.name, self.service.version, self._need_id())

    def list_output_files(self, index: int) -> list[str]:
        """Names of the files record ``index`` (0-based) produced."""
        return self._client.batch_output_files(self.service.name, self.service.version, self._need_id(), index)

    def output_file(self, index: int, name: str) -> bytes:
        """The content of one file of record ``index`` (0-based)."""
        return self._client.batch_output_file(self.service.name, self.service.version, self._need_id(), index, name)

    def list_artifacts(self, index: int) -> list[str]:
        """Deprecated name of `list_output_files`."""
        _deprecated("Batch.list_artifacts()", "list_output_files()")
        return self.list_output_files(index)

    def artifact(self, index: int, name: str) -> bytes:
        """Deprecated name of `output_file`."""
        _deprecated("Batch.artifact()", "output_file()")
        return self.output_file(index, name)

    def download(self, index: int, name: str | None = None,
                 destination: str | os.PathLike[str] | None = None) -> list[str]:
        """Save one output file (or all of them) of record ``index`` into ``destination``; returns the paths."""
        destination = os.fspath(destination or os.getcwd())
        os.makedirs(destination, exist_ok=True)
        names = [name] if name else self.list_output_files(index)
        paths = []
        for n in names:
            target = os.path.join(destination, os.path.basename(n))
            with open(target, "wb") as fh:
                fh.write(self.output_file(index, n))
            paths.append(target)
        return paths

    def __repr__(self) -> str:
        state = self.execution_id or "not started"
        return f"<Batch {self.service.name} {self.service.version} {state}: {len(self.records)} records>"
