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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .capture import Serialized
from .encoding import ParamType, definitions, param_type

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .service import Service

DEFAULT_OUTPUT = "result"
_RESULT_VAR = "__o16n_result"


def function_source(fn: Callable) -> str:
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


def _hints(fn: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return dict(getattr(fn, "__annotations__", {}) or {})


def _positional_names(fn: Callable) -> list[str]:
    params = inspect.signature(fn).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def infer_inputs(fn: Callable) -> dict[str, ParamType]:
    """Input types from a function's parameter annotations (every parameter must be annotated)."""
    hints = _hints(fn)
    out: dict[str, ParamType] = {}
    for name in _positional_names(fn):
        if name not in hints:
            raise ValueError(f"parameter {name!r} of {fn.__name__} has no type annotation; "
                             f"annotate it (def {fn.__name__}({name}: float, ...)) or call .inputs({name}=...)")
        out[name] = param_type(hints[name])
    return out


def infer_outputs(fn: Callable) -> dict[str, ParamType]:
    """Output types from the return annotation: one output named ``result`` (none for ``-> None``)."""
    hints = _hints(fn)
    if "return" not in hints or hints["return"] is None or hints["return"] is type(None):
        return {}
    ret = hints["return"]
    if isinstance(ret, dict):  # -> {"label": str, "score": float}
        return {k: param_type(v) for k, v in ret.items()}
    return {DEFAULT_OUTPUT: param_type(ret)}


def call_code(fn_name: str, args: list[str], outputs: list[str], kwargs: list[str] | None = None) -> str:
    """The line(s) that call the published function and bind its outputs."""
    call_args = ", ".join(list(args) + [f"{k}={k}" for k in (kwargs or [])])
    call = f"{fn_name}({call_args})"
    if not outputs:
        return call + "\n"
    if len(outputs) == 1:
        return f"{outputs[0]} = {call}\n"
    lines = [f"{_RESULT_VAR} = {call}", f"if isinstance({_RESULT_VAR}, dict):"]
    lines += [f"    {o} = {_RESULT_VAR}[{o!r}]" for o in outputs]
    lines += ["else:", f"    {', '.join(outputs)}, = {_RESULT_VAR}", f"del {_RESULT_VAR}"]
    return "\n".join(lines) + "\n"


class ServiceDefinition:
    """Builder of a standard (code + objects) web service. Every setter returns self."""

    def __init__(self, client: Client, name: str) -> None:
        if not name or not str(name).strip():
            raise ValueError("a service needs a name")
        self._client = client
        self.name = str(name)
        self._version: str | None = None
        self._description: str | None = None
        self._alias: str | None = None
        self._code_fn: Callable | None = None
        self._code_str: str | None = None
        self._init: Callable | str | None = None
        self._inputs: dict[str, ParamType] | None = None
        self._outputs: dict[str, ParamType] | None = None
        self._objects: dict[str, Any] = {}
        self._artifacts: list[str] | None = None

    # ---------------------------------------------------------------- setters
    def version(self, version: str) -> ServiceDefinition:
        self._version = str(version)
        return self

    def description(self, text: str) -> ServiceDefinition:
        self._description = text
        return self

    def alias(self, operation_id: str) -> ServiceDefinition:
        """The operation id: the swagger operationId and the method name on the Service object."""
        self._alias = operation_id
        return self

    def code_fn(self, fn: Callable, init: Callable | str | None = None) -> ServiceDefinition:
        function_source(fn)  # fail early when the source cannot be read
        self._code_fn, self._code_str, self._init = fn, None, init
        return self

    def code_str(self, code: str, init: Callable | str | None = None) -> ServiceDefinition:
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

    models = objects

    def artifacts(self, names: list[str] | tuple[str, ...] | str) -> ServiceDefinition:
        """Files the code writes that consumers get back (Base64 in ``outputFiles``)."""
        self._artifacts = [names] if isinstance(names, str) else list(names)
        return self

    def artifact(self, name: str) -> ServiceDefinition:
        self._artifacts = (self._artifacts or []) + [name]
        return self

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
        sig = inspect.signature(fn).parameters
        args, kwargs = [], []
        for p in sig.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.name in inputs:
                (kwargs if p.kind == p.KEYWORD_ONLY else args).append(p.name)
            elif p.default is inspect.Parameter.empty:
                raise ValueError(f"parameter {p.name!r} of {fn.__name__} is not a declared input and has no default")
            else:
                break  # later positional parameters would shift; keep the default from here on
        return function_source(fn) + "\n" + call_code(fn.__name__, args, outputs, kwargs)

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
            "outputFileNames": self._artifacts,
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
