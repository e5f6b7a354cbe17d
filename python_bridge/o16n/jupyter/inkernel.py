"""Code that runs INSIDE a notebook kernel, sent there as source by `kernels.py`.

Self-contained on purpose (standard library, plus dill for capture): the kernel may run in another
Python environment than Jupyter, without o16n installed. It is executed with ``exec`` in a private
namespace, so nothing here ends up in the user's variables. Entry point: ``main(user_ns, request)``;
it writes its JSON answer to ``request["result_file"]`` (never through iopub).

Commands (``request["command"]``):
- ``list``: user variables (name, type, size, shape, picklable, reason) and user functions
  (signature, parameters, annotations, source-availability).
- ``capture``: dill-serialize chosen variables one by one into files of ``request["dir"]``; also
  reads the source of a chosen function.
"""

import inspect
import io
import json
import os
import pickle
import socket
import sys
import threading
import time
import types

# IPython's own names; names starting with "_" are IPython's output cache or private helpers.
IGNORED_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open", "display", "help"}
# Types from these packages are the o16n client/magics' own objects (connections, results).
IGNORED_MODULES = ("o16n.", "IPython.", "ipykernel.", "jupyter_client.", "traitlets.")
PROTOCOL = min(5, pickle.HIGHEST_PROTOCOL)  # 5 writes numpy buffers without an extra copy
LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()), threading.Condition, threading.Semaphore,
              threading.Event)


class _Counter(io.RawIOBase):
    """A write-only sink that only counts bytes: tells picklability and size without the bytes."""

    def __init__(self):
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        self.size += n
        return n


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


def _type_name(value):
    cls = type(value)
    module = cls.__module__ or ""
    return cls.__qualname__ if module in ("builtins", "__main__") else module + "." + cls.__qualname__


def _shape(value):
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        return list(shape)
    if isinstance(value, (list, tuple, dict, set, frozenset, str, bytes)):
        return [len(value)]
    return None


def _deep_size(value, budget=20000):
    """Approximate memory size: numpy/pandas know theirs; else walk containers and __dict__."""
    seen, total, stack = set(), 0, [value]
    while stack and budget > 0:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        budget -= 1
        nbytes = getattr(obj, "nbytes", None)
        if isinstance(nbytes, int) and type(obj).__module__.startswith("numpy"):
            total += nbytes
            continue
        usage = getattr(obj, "memory_usage", None)
        if callable(usage) and type(obj).__module__.startswith("pandas"):
            try:
                used = usage(deep=True)
                total += int(used.sum()) if hasattr(used, "sum") else int(used)
                continue
            except Exception:
                pass
        try:
            total += sys.getsizeof(obj)
        except Exception:
            pass
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType, types.FunctionType)):
            try:
                stack.append(vars(obj))
            except TypeError:
                pass
    return total


def _is_user_function(value):
    return isinstance(value, types.FunctionType) and value.__module__ == "__main__" and value.__name__ != "<lambda>"


def _skip(name, value):
    if name in IGNORED_NAMES or name.startswith("_"):
        return True
    if isinstance(value, types.ModuleType):
        return True
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) and \
            getattr(value, "__module__", "") != "__main__":
        return True  # imported classes and functions: the service code imports them itself
    module = type(value).__module__ or ""
    return module.startswith(IGNORED_MODULES)


def _annotation(ann):
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


def _describe_function(fn):
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
            "annotation": _annotation(p.annotation),
            "default": None if p.default is p.empty else repr(p.default),
            "kind": p.kind.name,
        })
    return {
        "name": fn.__name__,
        "signature": fn.__name__ + str(sig),
        "parameters": params,
        "returns": _annotation(sig.return_annotation),
        "doc": inspect.getdoc(fn) or None,
    }


def _check(value, deadline):
    """(picklable, reason, serialized size or None), without holding the bytes in memory."""
    reason = why_not(value)
    if reason:
        return False, reason, None
    if time.time() > deadline:
        return None, "not checked: listing took too long", None
    try:
        import dill
    except ImportError:
        return False, "dill is not installed in this kernel (pip install dill)", None
    sink = _Counter()
    try:
        dill.dump(value, sink, protocol=PROTOCOL, recurse=True)
    except RecursionError:
        return False, "too deeply nested to serialize", None
    except Exception as exc:  # dill raises many kinds (TypeError, PicklingError, ...)
        return False, "cannot be serialized: %s: %s" % (type(exc).__name__, exc), None
    return True, None, sink.size


def list_namespace(user_ns, budget_seconds=20.0):
    deadline = time.time() + budget_seconds
    variables, functions = [], []
    for name, value in list(user_ns.items()):
        if _skip(name, value):
            continue
        if _is_user_function(value):
            info = _describe_function(value)
            if info is not None:
                functions.append(info)
            continue
        picklable, reason, size = _check(value, deadline)
        variables.append({
            "name": name,
            "type": _type_name(value),
            "size": size if size is not None else _deep_size(value),
            "shape": _shape(value),
            "picklable": picklable,
            "reason": reason,
        })
    return {"variables": variables, "functions": functions}


def capture(user_ns, names, directory, function_name=None):
    """Serialize each chosen variable into ``directory/<name>.dill``; one failure spoils only itself."""
    import dill

    objects, failed = {}, {}
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()):
            failed[str(name)] = "not a Python identifier"
            continue
        if name not in user_ns:
            failed[name] = "no such variable in the kernel"
            continue
        value = user_ns[name]
        if isinstance(value, types.ModuleType):
            failed[name] = "a module is not data; import it in the service code instead"
            continue
        reason = why_not(value)
        if reason:
            failed[name] = reason
            continue
        target = os.path.join(directory, name + ".dill")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                dill.dump(value, handle, protocol=PROTOCOL, recurse=True)
            objects[name] = os.path.getsize(target)
        except Exception as exc:
            failed[name] = "cannot be serialized: %s: %s" % (type(exc).__name__, exc)
            try:
                os.unlink(target)
            except OSError:
                pass
    answer = {"objects": objects, "failed": failed}
    if function_name:
        answer["function"] = read_function(user_ns, function_name)
    return answer


def read_function(user_ns, name):
    fn = user_ns.get(name)
    if not isinstance(fn, types.FunctionType):
        return {"error": "%r is not a function defined in this kernel" % name}
    info = _describe_function(fn) or {"name": name}
    try:
        import textwrap
        info["source"] = textwrap.dedent(inspect.getsource(fn)).rstrip() + "\n"
    except (OSError, TypeError) as exc:
        info["error"] = "cannot read the source of %s: %s" % (name, exc)
    return info


def main(user_ns, request):
    started = time.time()
    if request.get("deadline") and started > request["deadline"]:
        return  # the extension gave up waiting (kernel was busy): do nothing
    if request.get("started_file"):
        os.close(os.open(request["started_file"], os.O_WRONLY | os.O_CREAT, 0o600))  # "running now"
    try:
        if request["command"] == "list":
            answer = list_namespace(user_ns, request.get("budget", 20.0))
        elif request["command"] == "capture":
            answer = capture(user_ns, request["names"], request["dir"], request.get("function"))
        else:
            answer = {"error": "unknown command %r" % request["command"]}
    except Exception as exc:
        answer = {"error": "%s: %s" % (type(exc).__name__, exc)}
    answer["seconds"] = time.time() - started
    fd = os.open(request["result_file"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(answer, handle, default=str)
