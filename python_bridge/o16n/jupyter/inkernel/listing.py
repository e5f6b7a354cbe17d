"""`list` and `capture`: the kernel objects and notebook functions, and their dill bytes."""

import io
import os
import pickle
import sys
import time
import types

from .common import describe_function, is_user_function, skip, source_of, type_name, why_not
from .onnxmodel import is_realtime_model
from .pins import EnvironmentBuilder, recorder_class

PROTOCOL = min(5, pickle.HIGHEST_PROTOCOL)  # 5 writes numpy buffers without an extra copy


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
    objects, functions = [], []
    for name, value in list(user_ns.items()):
        if skip(name, value):
            continue
        if is_user_function(value):
            info = describe_function(value)
            if info is not None:
                functions.append(info)
            continue
        picklable, reason, size = _check(value, deadline)
        objects.append({
            "name": name,
            "type": type_name(value),
            "size": size if size is not None else _deep_size(value),
            "shape": _shape(value),
            "picklable": picklable,
            "reason": reason,
            "estimator": _estimator(value),
        })
    return {"objects": objects, "functions": functions}


def _estimator(value):
    try:
        return bool(is_realtime_model(value))
    except Exception:
        return False


def capture(user_ns, names, directory, function_name=None, sources=None):
    """Serialize each chosen object into ``directory/<name>.dill``; one failure spoils only itself.

    With ``sources`` (``[(code, what)]``, a list even when empty) the answer also carries the
    ``environment`` (`pins`): the modules each object's pickle refers to, recorded while writing it,
    and those the code imports.
    """
    import dill  # noqa: F401 - fail here, with the import error, when the kernel lacks it

    recorder = recorder_class()
    builder = EnvironmentBuilder()
    objects, failed = {}, {}
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()):
            failed[str(name)] = "not a Python identifier"
            continue
        if name not in user_ns:
            failed[name] = "no such object in the kernel"
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
                pickler = recorder(handle, PROTOCOL, byref=None, fmode=None, recurse=True)
                pickler.dump(value)
            objects[name] = os.path.getsize(target)
            builder.add_object(name, value, modules=pickler.modules)
        except Exception as exc:
            failed[name] = "cannot be serialized: %s: %s" % (type(exc).__name__, exc)
            try:
                os.unlink(target)
            except OSError:
                pass
    answer = {"objects": objects, "failed": failed}
    if function_name:
        answer["function"] = read_function(user_ns, function_name)
    if sources is not None:
        function = answer.get("function") or {}
        for text, what in list(sources) + [(function.get("source"), "the function")]:
            if text:
                builder.add_code(text, what)
        answer["environment"] = builder.result()
    return answer


def read_function(user_ns, name):
    fn = user_ns.get(name)
    if not isinstance(fn, types.FunctionType):
        return {"error": "%r is not a function defined in this kernel" % name}
    info = describe_function(fn) or {"name": name}
    try:
        info["source"] = source_of(fn)
    except (OSError, TypeError) as exc:
        info["error"] = "cannot read the source of %s: %s" % (name, exc)
    return info
