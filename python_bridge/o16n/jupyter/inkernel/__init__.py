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
- ``convert``: a kernel object (a fitted scikit-learn estimator/pipeline, an ONNX ModelProto or
  bytes) as an ONNX file in ``request["dir"]`` (`onnxmodel`), with its inputs and outputs.

``analyze`` and ``capture`` (with ``request["environment"]``) also answer the ``environment`` the
objects and code need (`pins`).
"""

import json
import os
import time

from .cell import analyze_code
from .common import Refused, why_not
from .function import analyze_function
from .listing import capture, list_namespace, read_function
from .loader import load_bundle
from .onnxmodel import ModelError, describe, summary, to_onnx
from .pins import environment_of
from .testrun import run_test

__all__ = ["main", "list_namespace", "capture", "read_function", "why_not", "analyze", "run_test", "load_bundle",
           "convert", "environment_of"]


def analyze(user_ns, request, wire):
    if request.get("functionName"):
        answer = analyze_function(user_ns, request["functionName"], wire)
    else:
        answer = analyze_code(user_ns, request.get("code") or "", request.get("objects"))
    try:
        answer["environment"] = analysis_environment(user_ns, request, answer)
    except Exception as exc:  # the analysis stands without it
        answer["environment"] = {"python": None, "packages": [], "notes": ["no environment: %s: %s" % (
            type(exc).__name__, exc)]}
    return answer


def analysis_environment(user_ns, request, answer):
    names = [o["name"] for o in answer.get("objects", [])]
    sources = [(request.get("code"), "the code"), (request.get("initCode"), "the init code")]
    if request.get("functionName"):
        function = read_function(user_ns, request["functionName"])
        sources.append((function.get("source"), "the function"))
    return environment_of(user_ns, names, sources, budget_seconds=request.get("budget", 10.0))


def convert(user_ns, request):
    """The ``convert`` command: write ``model.onnx`` into ``request["dir"]``; answer its description."""
    name, sample_name = request.get("model"), request.get("sample")
    if not isinstance(name, str) or name not in user_ns:
        raise Refused("there is no kernel object %r" % name, "model")
    sample = None
    if sample_name:
        if sample_name not in user_ns:
            raise Refused("there is no kernel object %r" % sample_name, "sample")
        sample = user_ns[sample_name]
    try:
        data = to_onnx(user_ns[name], sample)
        info = describe(data)
    except ModelError as exc:
        raise Refused("%s: %s" % (name, exc.message), exc.field) from None
    target = os.path.join(request["dir"], "model.onnx")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return {"file": target, "model": info, "detail": summary(info)}


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
            sources = None
            if request.get("environment"):
                sources = [(request.get("code"), "the code"), (request.get("initCode"), "the init code")]
            answer = capture(user_ns, request["names"], request["dir"], request.get("function"), sources)
        elif command == "analyze":
            answer = analyze(user_ns, request, wire)
        elif command == "test":
            answer = run_test(user_ns, request, wire)
        elif command == "convert":
            answer = convert(user_ns, request)
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
