"""Scoring an ONNX model on a data frame: columns in, columns out, all rows in one run.

Used inside a sandboxed worker (the default) and, behind `realtime_in_process`, in the server
itself. Needs numpy and onnxruntime; the frame is plain JSON columns (`{"col": [...]}`), already
checked by the wire (finite numbers, equal lengths). The mapping follows `domain/models.py`: one
single input takes the columns in order, or several inputs one column each by name; tensor outputs become
columns, a sequence of maps per row one column per key.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any

_NUMPY_TYPES = {"float32": "float32", "float64": "float64", "int64": "int64", "int32": "int32", "int16": "int16",
                "int8": "int8", "uint8": "uint8", "uint32": "uint32", "uint64": "uint64", "bool": "bool",
                "float16": "float16", "string": "object"}


class ScoringError(ValueError):
    """The frame does not fit the model (names or counts of columns); the message says how."""


class OnnxScorer:
    def __init__(self, model: bytes, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)  # many workers share few cores
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        self.inputs = [(i.name, _element(i.type)) for i in self.session.get_inputs()]
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        # One input takes all the columns in order (a one-column input too, whatever the column's name).
        self.matrix = len(self.inputs) == 1
        self.rank1 = {name for name, shape in shapes.items() if len(shape) == 1}  # [N] inputs: one column, rank 1
        self.flat = self.matrix and self.inputs[0][0] in self.rank1
        self.outputs = [o.name for o in self.session.get_outputs()]

    def score(self, frame: dict[str, list[Any]]) -> dict[str, list[Any]]:
        import numpy

        rows = len(next(iter(frame.values()))) if frame else 0
        if not self.matrix:
            missing = [n for n, _ in self.inputs if n not in frame]
            if missing:
                raise ScoringError(f"'inputData' lacks the column(s) {', '.join(missing)} the model takes")
        feeds: dict[str, Any]
        try:
            if self.matrix:
                name, element = self.inputs[0]
                matrix = numpy.array([frame[c] for c in frame], dtype=_NUMPY_TYPES[element]).T
                feeds = {name: matrix.reshape(rows) if self.flat else matrix.reshape(rows, -1)}
            else:
                feeds = {n: numpy.array(frame[n], dtype=_NUMPY_TYPES[e]).reshape((rows,) if n in self.rank1 else (rows, 1))
                         for n, e in self.inputs}
        except (TypeError, ValueError, OverflowError) as exc:  # "x" for a float input, None for an int, ...
            wanted = ", ".join(sorted({e for _, e in self.inputs}))
            raise ScoringError(f"'inputData' holds values the model's input ({wanted}) cannot take: {str(exc)[:200]}") from None
        try:
            results = self.session.run(self.outputs, feeds)
        except Exception as exc:  # onnxruntime's InvalidArgument and friends: shapes, counts
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ScoringError(f"the model refused 'inputData': {first[:300]}") from None
        columns: dict[str, list[Any]] = {}
        for name, value in zip(self.outputs, results):
            columns.update(_columns(name, value))
        return columns


def _element(type_name: str) -> str:
    # onnxruntime spells them "tensor(float)", "tensor(int64)", ...
    inner = type_name[type_name.find("(") + 1:type_name.rfind(")")]
    return {"float": "float32", "double": "float64"}.get(inner, inner)


def _columns(name: str, value: Any) -> dict[str, list[Any]]:
    """One model output as frame columns (plain Python values, JSON-ready: NaN and infinities are null)."""
    import numpy

    if isinstance(value, list):  # a sequence of maps (scikit-learn's ZipMap): one column per key
        keys = list(value[0]) if value else []
        return {f"{name}_{key}": _finite(list(map(itemgetter(key), value))) for key in keys}
    array = value
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 1:
        return {name: _cells(numpy, array)}
    return {f"{name}_{i}": _cells(numpy, array[:, i]) for i in range(array.shape[1])}


def _cells(numpy: Any, array: Any) -> list[Any]:
    """A column's values; the per-cell walk only when a float column holds NaN or infinities."""
    if array.dtype.kind == "f" and not numpy.isfinite(array).all():
        return _finite(array.tolist())
    if array.dtype.kind == "O":  # strings
        return _finite(array.tolist())
    return array.tolist()  # numbers and booleans: tolist() gives Python's own types


def _finite(cells: list[Any]) -> list[Any]:
    try:
        # The common case, at C speed: Python numbers (a numpy scalar makes the sum one), all finite
        # (NaN or an infinity anywhere makes total - total NaN).
        total = sum(cells)
        if type(total) in (float, int) and total - total == 0:
            return cells
    except TypeError:  # strings
        pass
    return [None if isinstance(c, float) and not math.isfinite(c) else (float(c) if type(c).__module__ == "numpy" else c)
            for c in cells]
