"""The fluent definition of a service to publish: ``client.service(name)....deploy()``.

Code can be a string (``code_str``) or a Python function (``code_fn``). A function is published as
its own source followed by one call line that binds its inputs (variables named after the input
parameters at consume time) and stores its return value in the declared output(s). Without
explicit ``inputs()``/``outputs()``, types come from the function's annotations::

    def score(flower_data: list) -> str: ...
    # inputs: flower_data (vector); outputs: result (character)
    # published code: <source of score>\nresult = score(flower_data)

``.environment()`` pins what the objects and code need from this Python (`environment`): the
publish first has the server build that environment (``POST /environments``, progress shown),
then publishes with it. Without it the service runs in the server's own environment and the
published Service's ``version_skew`` names the packages whose versions differ from this kernel's.

``.realtime(model, sample)`` makes it a realtime service instead: an ONNX model (bytes, an
``onnx.ModelProto``, or a fitted scikit-learn estimator/pipeline converted with skl2onnx), scored
natively by the server, consumed with ``inputData`` (a frame) -> ``outputData``.
"""

from __future__ import annotations

import inspect
import textwrap
import typing
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..wire import binding
from ..wire.errors import WireError
from ..wire.names import check_name
from .capture import Serialized, dumps_recording
from .encoding import ParamType, definitions, param_type
from .environment import Environment

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .service import Service

DEFAULT_OUTPUT = "result"
CAPTURE = object()  # .environment() without packages: capture them at publish time


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
        self._environment: Any = None  # None: the server's own; CAPTURE; an Environment
        self._env_add: list[str] = []
        self._env_remove: list[str] = []
        self._env_python: str | None = None
        self._modules: dict[str, dict[str, str]] = {}
        self._blobs: dict[str, bytes] | None = None
        self._model: bytes | None = None
        self.model_info: dict[str, Any] | None = None

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
        self._blobs = None
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

    def environment(self, packages: Any = CAPTURE, *, add: Iterable[str] | str = (),
                    remove: Iterable[str] | str = (), python: str | None = None) -> ServiceDefinition:
        """Publish with an environment built for this service (o16n extension; Seam A).

        - ``.environment()``: captured at publish time from the objects and the code (the
          distributions providing what they use, with their requirements, at this kernel's versions);
        - ``.environment(["attrs==24.2.0", ...])`` or an `Environment` (``definition.captured_environment()``
          edited): exactly these packages;
        - ``.environment(None)``: none, the server's own environment (the default);
        - ``add``: more packages, or other versions of captured ones (``"xgboost==2.1.0"``; a bare name
          pins this kernel's version); ``remove``: names to drop; ``python``: ``X.Y`` (default: this
          kernel's).
        """
        if self._model is not None and packages is not None and packages is not False:
            raise ValueError("a realtime service has no environment: its model is scored natively")
        self._env_add = [add] if isinstance(add, str) else list(add)
        self._env_remove = [remove] if isinstance(remove, str) else list(remove)
        self._env_python = python
        if packages is None or packages is False:
            self._environment = None
        elif packages is CAPTURE or packages is True:
            self._environment = CAPTURE
        else:
            self._environment = Environment.parse(packages)
        if self._environment is not None:
            self.resolved_environment()  # a bad requirement or an unknown name to remove fails now
        return self

    def realtime(self, model: Any, sample: Any = None, *, target_opset: int | None = None) -> ServiceDefinition:
        """Make this a realtime service (9.1 ``/realtime-services``): ``model`` is ONNX bytes, an
        ``onnx.ModelProto`` or a fitted scikit-learn estimator/pipeline (converted here with skl2onnx;
        ``sample``, a few rows of the input frame or array, gives the input names and types).
        Consumed with ``inputData`` (a data frame) -> ``outputData``. Converted now: a model that
        cannot be is a ValueError naming why."""
        from o16n.jupyter.inkernel.onnxmodel import describe, to_onnx

        data = to_onnx(model, sample, target_opset)
        self.model_info = describe(data)
        self._model = data
        return self

    # ---------------------------------------------------------------- building
    @property
    def is_realtime(self) -> bool:
        return self._model is not None

    def model_bytes(self) -> bytes | None:
        return self._model

    def captured_environment(self) -> Environment:
        """What this service's objects and code need from this Python (as ``.environment()`` captures it)."""
        blobs = self.object_blobs()  # records the modules while pickling
        objects = {k: v for k, v in self._objects.items() if k in blobs}
        code = []
        try:
            code = [c for c in (self.build_code(), self.build_init()) if c]
        except ValueError:
            pass
        return Environment.capture(objects, code, modules=self._modules)

    def resolved_environment(self) -> Environment | None:
        """The environment this definition publishes with, or None (the server's own)."""
        if self._environment is None:
            return None
        env = self.captured_environment() if self._environment is CAPTURE else self._environment
        if self._env_remove:
            env = env.remove(*self._env_remove)
        if self._env_add:
            env = env.add(*self._env_add)
        if self._env_python:
            env = env.with_python(self._env_python)
        return env

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
        """The dill bytes of every object, serialized one by one with a clear error per object
        (once per definition: the bytes are kept until ``objects()`` is called again)."""
        if self._blobs is not None:
            return self._blobs
        blobs: dict[str, bytes] = {}
        for name, obj in self._objects.items():
            if isinstance(obj, Serialized):
                blobs[name] = obj.data
                if obj.modules is not None:
                    self._modules[name] = obj.modules
                continue
            try:
                blobs[name], self._modules[name] = dumps_recording(obj)
            except Exception as exc:
                raise ValueError(f"object {name!r} ({type(obj).__name__}) cannot be serialized: {exc}") from None
        self._blobs = blobs
        return blobs

    # ---------------------------------------------------------------- actions
    def _check_realtime(self) -> None:
        extra = [what for what, given in (("code", self._code_fn is not None or self._code_str is not None),
                                          ("objects", bool(self._objects)), ("inputs", self._inputs is not None),
                                          ("outputs", self._outputs is not None),
                                          ("output files", self._output_files is not None)) if given]
        if extra:
            raise ValueError(f"a realtime service is its model alone: drop the {', '.join(extra)} "
                             "(it is consumed with inputData -> outputData)")

    def deploy(self) -> Service:
        """Publish a new service (or a new version of one); returns the consumable Service."""
        if self._model is not None:
            self._check_realtime()
            return self._client._publish_realtime(self, update=False)
        return self._client._publish(self, update=False)

    def redeploy(self) -> Service:
        """Update an existing version in place (PATCH) with only what was set here."""
        if self._model is not None:
            self._check_realtime()
            return self._client._publish_realtime(self, update=True)
        return self._client._publish(self, update=True)

    def __repr__(self) -> str:
        return f"<ServiceDefinition {self.name} {self._version or '(server-generated version)'}>"
