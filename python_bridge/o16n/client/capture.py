"""Capture the variables of a namespace (a notebook's) for publishing, one variable at a time.

`capture(namespace)` serializes each variable with dill on its own, so one object that cannot be
taken (a generator, an open file, a lock, a socket, ...) is reported with the reason instead of
failing the whole snapshot. Modules and IPython's own variables are skipped. While pickling, the
modules each pickle refers to are recorded: `CaptureResult.environment` is what a service with
these objects (and ``code``) needs from this Python, pinned (`environment.Environment`).
"""

from __future__ import annotations

import html
import io
import socket
import threading
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

# IPython's and Python's own names in a notebook namespace.
IGNORED_NAMES = frozenset({
    "In", "Out", "get_ipython", "exit", "quit", "open", "display", "help",
    "__builtins__", "__builtin__", "__name__", "__doc__", "__package__", "__loader__", "__spec__",
    "__file__", "__cached__", "__annotations__",
})

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()), threading.Condition, threading.Semaphore,
               threading.Event)


@dataclass(frozen=True)
class Serialized:
    """Bytes already serialized with dill (uploaded as they are)."""

    data: bytes
    modules: dict[str, str] | None = field(default=None, compare=False)  # what the pickle refers to, if recorded
    type_name: str | None = field(default=None, compare=False)  # the public type name of what was pickled

    def __len__(self) -> int:
        return len(self.data)


def _is_ipython_name(name: str) -> bool:
    if name in IGNORED_NAMES:
        return True
    if name.startswith("_"):  # _, __, ___, _i, _ii, _i1, _1, _oh, _dh, _ih, private helpers
        return True
    return False


def why_not(value: Any) -> str | None:
    """A reason this kind of value should not be captured, or None if it may be."""
    if isinstance(value, types.GeneratorType) or isinstance(value, (types.AsyncGeneratorType, types.CoroutineType)):
        return "a generator/coroutine holds a running frame and cannot be serialized; materialize it (list(...)) first"
    if isinstance(value, io.IOBase):
        closed = getattr(value, "closed", False)
        return "an open file handle is tied to this machine" if not closed else "a (closed) file handle"
    if isinstance(value, _LOCK_TYPES):
        return "a thread lock/synchronization primitive belongs to this process"
    if isinstance(value, socket.socket):
        return "a network socket belongs to this process"
    if isinstance(value, threading.Thread):
        return "a thread belongs to this process"
    if isinstance(value, types.FrameType) or isinstance(value, types.TracebackType):
        return "a stack frame/traceback belongs to this process"
    return None


@dataclass
class CaptureResult:
    """What `capture` took and what it left, with sizes and reasons."""

    objects: dict[str, Serialized] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    # {object name: {top-level package: module}} its pickle refers to
    modules: dict[str, dict[str, str]] = field(default_factory=dict)
    environment: Environment | None = None

    @property
    def sizes(self) -> dict[str, int]:
        return {k: len(v.data) for k, v in self.objects.items()}

    @property
    def total_size(self) -> int:
        return sum(self.sizes.values())

    @property
    def ok(self) -> bool:
        return not self.failed

    def load(self, name: str) -> Any:
        import dill
        return dill.loads(self.objects[name].data)

    def __repr__(self) -> str:
        lines = [f"<CaptureResult: {len(self.objects)} captured ({_human(self.total_size)}), "
                 f"{len(self.failed)} not taken, {len(self.skipped)} skipped>"]
        for k, size in self.sizes.items():
            lines.append(f"  + {k}: {_human(size)}")
        for k, why in self.failed.items():
            lines.append(f"  ! {k}: {why}")
        if self.environment is not None:
            lines.append(self.environment.to_text())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = [f"<tr><td>{esc(k)}</td><td>{_human(s)}</td><td>captured</td></tr>" for k, s in self.sizes.items()]
        rows += [f"<tr><td>{esc(k)}</td><td></td><td style='color:#c62828'>{esc(w)}</td></tr>"
                 for k, w in self.failed.items()]
        env = self.environment._repr_html_() if self.environment is not None else ""
        return ("<table><tr><th>object</th><th>size</th><th>status</th></tr>" + "".join(rows) + "</table>" + env)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def dumps_recording(value: Any) -> tuple[bytes, dict[str, str]]:
    """``dill.dumps(value, recurse=True)`` and the modules the pickle refers to, in one pass."""
    import dill

    from o16n.jupyter.inkernel.pins import recorder_class

    buffer = io.BytesIO()
    pickler = recorder_class()(buffer, dill.settings["protocol"], byref=None, fmode=None, recurse=True)
    pickler.dump(value)
    return buffer.getvalue(), dict(pickler.modules)


def capture(namespace: Mapping[str, Any], names: Iterable[str] | None = None, *,
            code: str | Iterable[str] | None = None, environment: bool = True) -> CaptureResult:
    """Serialize variables of ``namespace`` with dill, one by one.

    ``names``: only these variables (an unknown name is reported in ``failed``); by default every
    variable except modules, IPython's own (``In``, ``Out``, ``_``, ``_i1``, ``get_ipython``, ``exit``,
    ...) and names starting with an underscore. ``code``: the service code (and init code), whose
    imports count for the ``environment`` (``environment=False``: do not work it out).
    """
    result = CaptureResult()
    if names is None:
        chosen = []
        for name, value in namespace.items():
            if _is_ipython_name(name) or isinstance(value, types.ModuleType):
                result.skipped.append(name)
            else:
                chosen.append(name)
    else:
        chosen = list(names)
    for name in chosen:
        if name not in namespace:
            result.failed[name] = "no such variable"
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            if names is not None:
                result.failed[name] = "a module is not data; import it in the service code instead"
            else:
                result.skipped.append(name)
            continue
        reason = why_not(value)
        if reason:
            result.failed[name] = reason
            continue
        try:
            data, result.modules[name] = dumps_recording(value)
        except RecursionError:
            result.failed[name] = "too deeply nested to serialize"
            continue
        except Exception as exc:  # dill raises many kinds (TypeError, PicklingError, ...)
            result.failed[name] = f"cannot be serialized: {type(exc).__name__}: {exc}"
            continue
        from o16n.jupyter.inkernel.pins import public_name

        result.objects[name] = Serialized(data, result.modules.get(name), public_name(value))
    if environment:
        from .environment import Environment

        result.environment = Environment.capture({k: namespace[k] for k in result.objects}, code,
                                                 modules=result.modules)
    return result
