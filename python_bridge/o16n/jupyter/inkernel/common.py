"""What the in-kernel helper knows about the notebook's namespace: which names are IPython's, which
values are imported code rather than objects, and how functions describe themselves."""

import builtins
import inspect
import io
import socket
import textwrap
import threading
import types

# IPython's own names; names starting with "_" are IPython's output cache or private helpers.
IGNORED_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open", "display", "help"}
# Types from these packages are the o16n client/magics' own objects (connections, results).
IGNORED_MODULES = ("o16n.", "IPython.", "ipykernel.", "jupyter_client.", "traitlets.")
LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()), threading.Condition, threading.Semaphore,
              threading.Event)
DEFAULT_OUTPUT = "result"


class Refused(Exception):
    """A request the kernel cannot do as asked: a 400 naming the relay's field."""

    def __init__(self, message, field):
        Exception.__init__(self, message)
        self.message = message
        self.field = field


def why_not(value):
    """A reason this kind of value cannot be published, or None (mirrors o16n.client.capture)."""
    if isinstance(value, (types.GeneratorType, types.AsyncGeneratorType, types.CoroutineType)):
        return "a generator/coroutine holds a running frame and cannot be serialized; materialize it (list(...)) first"
    if isinstance(value, io.IOBase):
        return "an open file handle is tied to this machine"
    if isinstance(value, LOCK_TYPES):
        return "a thread lock/synchronization primitive belongs to this process"
    if isinstance(value, socket.socket):
        return "a network socket belongs to this process"
    if isinstance(value, threading.Thread):
        return "a thread belongs to this process"
    if isinstance(value, (types.FrameType, types.TracebackType)):
        return "a stack frame/traceback belongs to this process"
    return None


def type_name(value):
    cls = type(value)
    module = cls.__module__ or ""
    return cls.__qualname__ if module in ("builtins", "__main__") else module + "." + cls.__qualname__


def is_user_function(value):
    return isinstance(value, types.FunctionType) and value.__module__ == "__main__" and value.__name__ != "<lambda>"


def is_internal(name, value):
    if name in IGNORED_NAMES or name.startswith("_"):
        return True
    module = type(value).__module__ or ""
    return module.startswith(IGNORED_MODULES)


def imported(value):
    """Why a value is code the service must import rather than an object to ship, else None."""
    if isinstance(value, types.ModuleType):
        return "a module: import it in the service code (or initCode)"
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) and \
            getattr(value, "__module__", "") != "__main__":
        kind = "class" if isinstance(value, type) else "function"
        return "an imported %s (%s): import it in the service code" % (kind, getattr(value, "__module__", "?"))
    return None


def skip(name, value):
    return is_internal(name, value) or imported(value) is not None


def annotation(ann):
    """An annotation as a type name ("float", "numpy.ndarray", "list") or None."""
    if ann is inspect.Parameter.empty or ann is inspect.Signature.empty:
        return None
    if isinstance(ann, str):  # "float", or "'np.ndarray'" / "list[float]" under `from __future__ import annotations`
        name = ann.strip().strip("'\"").split("[", 1)[0].strip()
        return {"List": "list", "typing.List": "list", "Tuple": "tuple", "typing.Tuple": "tuple"}.get(name, name)
    origin = getattr(ann, "__origin__", None)
    if origin is not None:  # list[float], typing.List[int]
        ann = origin
    if isinstance(ann, type):
        module = ann.__module__ or ""
        if module == "builtins":
            return ann.__name__
        return module.split(".")[0] + "." + ann.__name__
    if ann is None:
        return "None"
    return str(ann)


def describe_function(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        params.append({
            "name": p.name,
            "annotation": annotation(p.annotation),
            "default": None if p.default is p.empty else repr(p.default),
            "kind": p.kind.name,
        })
    return {
        "name": fn.__name__,
        "signature": fn.__name__ + str(sig),
        "parameters": params,
        "returns": annotation(sig.return_annotation),
        "doc": inspect.getdoc(fn) or None,
    }


def source_of(fn):
    return textwrap.dedent(inspect.getsource(fn)).rstrip() + "\n"


def is_builtin(name):
    return hasattr(builtins, name) or name in ("display", "get_ipython")
