"""`test`: run the service code on a copy of the kernel's namespace with sample inputs.

The code is what the service will run: the cell code, or the function's source plus the call line
of `o16n.wire.binding`; inputs become Python values and outputs JSON with `o16n.wire.values`.
The user's variables stay bound as they were (objects mutated in place do change: no deep copy).
"""

import contextlib
import io
import time
import traceback
import types

from .common import Refused, source_of

CONSOLE_LIMIT = 1 << 20


class _Capped(io.StringIO):
    def write(self, text):
        if self.tell() < CONSOLE_LIMIT:
            io.StringIO.write(self, text[: CONSOLE_LIMIT - self.tell()])
        return len(text)


def _format_error(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<o16n")]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


def _copy_namespace(user_ns):
    """A copy of the user's namespace whose notebook functions see the copy as their globals."""
    copy = dict(user_ns)
    for name, value in list(copy.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is user_ns:
            rebound = types.FunctionType(value.__code__, copy, value.__name__, value.__defaults__, value.__closure__)
            rebound.__kwdefaults__ = value.__kwdefaults__
            rebound.__dict__.update(value.__dict__)
            rebound.__annotations__ = value.__annotations__
            rebound.__qualname__ = value.__qualname__
            rebound.__module__ = value.__module__
            copy[name] = rebound
    return copy


def service_code(user_ns, request, wire):
    """The code the service will run: the cell code, or the function's source + its call line."""
    outputs = [o["name"] for o in request.get("outputs") or []]
    name = request.get("functionName")
    if not name:
        return request.get("code") or ""
    fn = user_ns.get(name)
    if not isinstance(fn, types.FunctionType):
        raise Refused("%r is not a function defined in this kernel" % name, "functionName")
    try:
        source = source_of(fn)
    except (OSError, TypeError) as exc:
        raise Refused("cannot read the source of %s: %s" % (name, exc), "functionName") from None
    try:
        bound = wire.binding.bind_parameters(name, wire.binding.params_of(fn), list(request.get("inputs") or {}))
    except wire.errors.WireError as exc:
        raise Refused(exc.message, exc.field) from None
    return wire.binding.function_code(source, bound, outputs)


def run_test(user_ns, request, wire):
    code = service_code(user_ns, request, wire)
    types_of = request.get("inputTypes") or {}
    namespace = _copy_namespace(user_ns)
    console = _Capped()
    outputs, success, error = {}, True, ""
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(console), contextlib.redirect_stderr(console):
            if request.get("initCode"):
                exec(compile(request["initCode"], "<initCode>", "exec", dont_inherit=True), namespace)
            for name, value in (request.get("inputs") or {}).items():
                namespace[name] = wire.values.to_python(value, types_of.get(name))
            exec(compile(code, "<service code>", "exec", dont_inherit=True), namespace)
    except BaseException as exc:  # user code may raise anything, even SystemExit or an interrupt
        success, error = False, _format_error(exc)
    elapsed = time.perf_counter() - started
    for output in (request.get("outputs") or []) if success else []:
        name = output["name"]
        if name not in namespace:
            success, error = False, "output '%s' was not assigned by the code" % name
            break
        try:
            outputs[name] = wire.values.coerce_output(name, namespace[name], output.get("type"))
        except ValueError as exc:
            success, error = False, str(exc)
            break
    return {"success": success, "outputs": outputs if success else {}, "consoleOutput": console.getvalue(),
            "errorMessage": error, "elapsed": round(elapsed, 6)}
