"""Code that runs INSIDE a notebook kernel, sent there as source by `o16n.jupyter.kernels`.

Self-contained on purpose (standard library, plus dill for capture): the kernel may run in another
Python environment than Jupyter, without o16n installed, and may be older (Python 3.8: no
ast.unparse, no match). This package and `o16n.wire` arrive as source and are loaded under private
names (`loader`), so nothing here ends up in the user's variables. Entry point:
``main(user_ns, request)``; it writes its JSON answer to ``request["result_file"]`` (never through
iopub). Commands that need the wire vocabulary get it in ``request["wire"]``.

Commands (``request["command"]``):
- ``list``: kernel objects (name, type, size, shape, picklable, reason) and the notebook's
  functions (signature, parameters, annotations).
- ``capture``: dill-serialize chosen objects one by one into files of ``request["dir"]``; also
  reads the source of a chosen function.
- ``analyze``: what cell code or a notebook function reads and writes (inputs, outputs, the kernel
  objects it needs), from ``ast`` + ``symtable`` + the live values; never runs anything.
- ``test``: run cell code or a function with sample inputs on a copy of the namespace, with the
  service's own binding.
"""

import json
import os
import time

from .cell import analyze_code
from .common import Refused, why_not
from .function import analyze_function
from .listing import capture, list_namespace, read_function
from .loader import load_bundle
from .testrun import run_test

__all__ = ["main", "list_namespace", "capture", "read_function", "why_not", "analyze", "run_test", "load_bundle"]


def analyze(user_ns, request, wire):
    if request.get("functionName"):
        return analyze_function(user_ns, request["functionName"], wire)
    return analyze_code(user_ns, request.get("code") or "", request.get("objects"))


def main(user_ns, request):
    started = time.time()
    if request.get("deadline") and started > request["deadline"]:
        return  # the extension gave up waiting (kernel was busy): do nothing
    if request.get("started_file"):
        os.close(os.open(request["started_file"], os.O_WRONLY | os.O_CREAT, 0o600))  # "running now"
    try:
        command = request["command"]
        wire = load_bundle(request["wire"]) if request.get("wire") else None
        if command == "list":
            answer = list_namespace(user_ns, request.get("budget", 20.0))
        elif command == "capture":
            answer = capture(user_ns, request["names"], request["dir"], request.get("function"))
        elif command == "analyze":
            answer = analyze(user_ns, request, wire)
        elif command == "test":
            answer = run_test(user_ns, request, wire)
        else:
            answer = {"error": "unknown command %r" % command}
    except Refused as exc:
        answer = {"refused": {"message": exc.message, "field": exc.field}}
    except Exception as exc:
        answer = {"error": "%s: %s" % (type(exc).__name__, exc)}
    answer["seconds"] = time.time() - started
    fd = os.open(request["result_file"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(answer, handle, default=str)
