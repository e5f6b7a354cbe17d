"""The fluent definition of a service to publish: ``client.service(name)....deploy()``.

Code can be a string (``code_str``) or a Python function (``code_fn``). A function is published as
its own source followed by one call line that binds its inputs (variables named after the input
parameters at consume time) and stores its return value in the declared output(s). Without
explicit ``inputs()``/``outputs()``, types come from the function's annotations::

    def score(flower_data: list) -> str: ...
    # inputs: flower_data (vector); outputs: result (character)
    # published code: <source of score>\nresult = score(flower_data)
"""

from __future__ import annotations

import inspect
import textwrap
import typing
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..wire import binding
from ..wire.errors import WireError
from ..wire.names import check_name
from .capture import Serialized
from .encoding import ParamType, definitions, param_type

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .service import Service

DEFAULT_OUTPUT = "result"


def function_source(fn: Callable[..., Any]) -> str:
    """The dedented source of a function (what ``code_fn`` publishes)."""
    if not callable(fn) or not hasattr(fn, "__code__"):
        raise TypeError(f"{fn!r} is not a Python function")
    if fn.__name__ == "<lambda>":
        raise ValueError("a lambda cannot be published; define the function with def")
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError) as exc:
        raise ValueError(f"cannot read the source of {fn.__name__}: {exc}; use code_str() instead") from None
    return textwrap.dedent(source).rstrip() + "\n"


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return dict(getattr(fn, "__annotations__", {}) or {})


def _positional_names(fn: Callable[..., Any]) -> list[str]:
    params = inspect.signature(fn).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def infer_inputs(fn: Callable[..., Any]) -> dict[str, ParamType]:
    """Input types from a function's parameter annotations (every parameter must be annotated)."""
    hints = _hints(fn)
    out: dict[str, ParamType] = {}
    for name in _positional_names(fn):
        if name not in hints:
            raise ValueError(f"parameter {name!r} of {fn.__name__} has no type annotation; "
                             f"annotate it (def {fn.__name__}({name}: float, ...)) or call .inputs({name}=...)")
        out[name] = param_type(hints[name])
    return out


def infer_outputs(fn: Callable[..., Any]) -> dict[str, ParamType]:
    """Output types from the return annotation: one output named ``result`` (none for ``-> None``)."""
    hints = _hints(fn)
    if "return" not in hints or hints["return"] is None or hints["return"] is type(None):
        return {}
    ret = hints["return"]
    if isinstance(ret, dict):  # -> {"label": str, "score": float}
        return {k: param_type(v) for k, v in ret.items()}
    return {DEFAULT_OUTPUT: param_type(ret)}


def call_code(fn_name: str, args: list[str], outputs: list[str], kwargs: list[str] | None = None) -> str:
    """The line(s) that call the published function and bind its outputs (`o16n.wire.binding`)."""
    return binding.call_code(binding.Binding(fn_name, tuple(args), tuple(kwargs or ())), outputs)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


class ServiceDefinition:
    """Builder of a standard (code + objects) web service. Every setter returns self."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = check_name(str(name), "name")  # the server's rule, before anything is sent
        self._version: str | None = None
        self._description: str | None = None
        self._alias: str | None = None
        self._code_fn: Callable[..., Any] | None = None
        self._code_str: str | None = None
        self._init: Callable[..., Any] | str | None = None
        self._inputs: dict[str, ParamType] | None = None
        self._outputs: dict[str, ParamType] | None = None
        self._objects: dict[str, Any] = {}
        self._output_files: list[str] | None = None

    # ---------------------------------------------------------------- setters
    def version(self, version: str) -> ServiceDefinition:
        self._version = check_name(str(version), "version")
        return self

    def description(self, text: str) -> ServiceDefinition:
        self._description = text
        return self

    def alias(self, operation_id: str) -> ServiceDefinition:
        """The operation id: the swagger operationId and the method name on the Service object."""
        self._alias = operation_id
        return self

    def code_fn(self, fn: Callable[..., Any], init: Callable[..., Any] | str | None = None) -> ServiceDefinition:
        function_source(fn)  # fail early when the source cannot be read
        self._code_fn, self._code_str, self._init = fn, None, init
        return self

    def code_str(self, code: str, init: Callable[..., Any] | str | None = None) -> ServiceDefinition:
        self._code_str, self._code_fn, self._init = code, None, init
        return self

    def inputs(self, **types: Any) -> ServiceDefinition:
        self._inputs = {k: param_type(v) for k, v in types.items()}
        return self

    def outputs(self, **types: Any) -> ServiceDefinition:
        self._outputs = {k: param_type(v) for k, v in types.items()}
        return self

    def objects(self, **objs: Any) -> ServiceDefinition:
        """Python objects the code uses by name; dill-serialized into the service's snapshot."""
        self._objects.update(objs)
        return self

    def models(self, **objs: Any) -> ServiceDefinition:
        """Deprecated name of `objects`."""
        _deprecated("ServiceDefinition.models()", "objects()")
        return self.objects(**objs)

    def output_files(self, names: list[str] | tuple[str, ...] | str) -> ServiceDefinition:
        """Files the code writes that consumers get back (Base64 in ``outputFiles``)."""
        self._output_files = [names] if isinstance(names, str) else list(names)
        return self

    def output_file(self, name: str) -> ServiceDefinition:
        self._output_files = (self._output_files or []) + [name]
        return self

    def artifacts(self, names: list[str] | tuple[str, ...] | str) -> ServiceDefinition:
        """Deprecated name of `output_files`."""
        _deprecated("ServiceDefinition.artifacts()", "output_files()")
        return self.output_files(names)

    def artifact(self, name: str) -> ServiceDefinition:
        """Deprecated name of `output_file`."""
        _deprecated("ServiceDefinition.artifact()", "output_file()")
        return self.output_file(name)

    # ---------------------------------------------------------------- building
    def resolved_inputs(self) -> dict[str, ParamType] | None:
        if self._inputs is not None:
            return self._inputs
        if self._code_fn is not None:
            return infer_inputs(self._code_fn)
        return None

    def resolved_outputs(self) -> dict[str, ParamType] | None:
        if self._outputs is not None:
            return self._outputs
        if self._code_fn is not None:
            return infer_outputs(self._code_fn)
        return None

    def build_code(self) -> str | None:
        if self._code_str is not None:
            return self._code_str
        if self._code_fn is None:
            return None
        fn = self._code_fn
        inputs = self.resolved_inputs() or {}
        outputs = list((self.resolved_outputs() or {}).keys())
        try:
            bound = binding.bind_parameters(fn.__name__, binding.params_of(fn), inputs)
        except WireError as exc:
            raise ValueError(exc.message) from None
        return binding.function_code(function_source(fn), bound, outputs)

    def build_init(self) -> str | None:
        init = self._init
        if init is None or isinstance(init, str):
            return init
        return function_source(init) + "\n" + call_code(init.__name__, [], [])

    def operation_id(self) -> str | None:
        if self._alias:
            return self._alias
        if self._code_fn is not None:
            return self._code_fn.__name__
        return None

    def request_body(self, *, partial: bool = False) -> dict[str, Any]:
        """The PublishWebServiceRequest (without snapshotId). ``partial`` keeps only what was set."""
        body: dict[str, Any] = {}
        code = self.build_code()
        if code is None and not partial:
            raise ValueError(f"service {self.name!r} has no code: call .code_fn(fn) or .code_str(code)")
        inputs = self.resolved_inputs()
        outputs = self.resolved_outputs()
        fields = {
            "code": code,
            "description": self._description,
            "operationId": self.operation_id(),
            "inputParameterDefinitions": definitions(inputs) if inputs is not None else None,
            "outputParameterDefinitions": definitions(outputs) if outputs is not None else None,
            "initCode": self.build_init(),
            "outputFileNames": self._output_files,
        }
        for key, value in fields.items():
            if value is not None:
                body[key] = value
        if not partial:
            body.setdefault("inputParameterDefinitions", [])
            body.setdefault("outputParameterDefinitions", [])
        body["runtimeType"] = "Python"
        return body

    def object_blobs(self) -> dict[str, bytes]:
        """The dill bytes of every object, serialized one by one with a clear error per object."""
        import dill
        blobs: dict[str, bytes] = {}
        for name, obj in self._objects.items():
            if isinstance(obj, Serialized):
                blobs[name] = obj.data
                continue
            try:
                blobs[name] = dill.dumps(obj)
            except Exception as exc:
                raise ValueError(f"object {name!r} ({type(obj).__name__}) cannot be serialized: {exc}") from None
        return blobs

    # ---------------------------------------------------------------- actions
    def deploy(self) -> Service:
        """Publish a new service (or a new version of one); returns the consumable Service."""
        return self._client._publish(self, update=False)

    def redeploy(self) -> Service:
        """Update an existing version in place (PATCH) with only what was set here."""
        return self._client._publish(self, update=True)

    def __repr__(self) -> str:
        return f"<ServiceDefinition {self.name} {self._version or '(server-generated version)'}>"
