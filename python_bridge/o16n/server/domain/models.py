"""Models of realtime services: ONNX files, checked at publish before anything runs them.

An ONNX file carries no Python code, but it is still hostile input: a crafted one can reach memory
bugs of the runtime, and external-data references can name files on the server. So a model is
refused (400, field `model`, saying why) unless it parses, passes ONNX's own checker, uses only the
standard operator domains, keeps all its weights inside the file, is not larger than the limit, and
has inputs and outputs this server can map to a data frame:

- inputs: one tensor `[N, k]` (the frame's k columns in their order, whatever their names; `[N]`
  takes one column), or several tensors `[N]`/`[N, 1]`, one per column (matched by name);
- outputs: tensors `[N]`, `[N, 1]` or `[N, m]` (m columns `name_0` ...), or a sequence of maps per row
  (scikit-learn's probabilities: one column per key, `name_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
# ONNX TensorProto element types a JSON column can carry.
ELEMENT_TYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool",
                 10: "float16", 11: "float64", 12: "uint32", 13: "uint64"}
# Serialized R objects (what revoscalepy's rx_serialize_model writes) start with one of these.
_R_SERIALIZED = (b"X\n", b"A\n", b"B\n", b"RDX", b"RDA", b"RDB")
# ... and what the azureml SDK sends for revoscalepy models (it refuses any other bytes).
_REVOSCALEPY_BLOB = b"blob"


def _refuse(why: str) -> BadRequest:
    return BadRequest(f"'model' {why}", field="model")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    element: str  # float32, int64, string, ...; "map" for a sequence of maps
    shape: tuple[int | str | None, ...]  # None or a name: any size

    @property
    def columns(self) -> int | None:
        """How many frame columns this tensor spans (None: one per row item, e.g. a map)."""
        if self.element == "map":
            return None
        if len(self.shape) <= 1:
            return 1
        width = self.shape[1]
        return width if isinstance(width, int) and width > 0 else None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "type": self.element, "shape": ["N" if not isinstance(d, int) else d for d in self.shape]}


@dataclass(frozen=True)
class ModelSignature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def matrix_input(self) -> bool:
        """One input tensor takes all the columns in order (else one input per column, by name)."""
        return len(self.inputs) == 1

    def to_json(self) -> dict[str, object]:
        return {"inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs]}


def check_model(data: bytes, max_bytes: int) -> ModelSignature:
    """The model's signature, or a BadRequest naming what is wrong with it."""
    if not data:
        raise _refuse("is empty: send the ONNX file in the multipart field 'model'")
    if len(data) > max_bytes:
        raise _refuse(f"is {len(data)} bytes; this server takes models up to {max_bytes} bytes (max_model_bytes)")
    if data.startswith(_REVOSCALEPY_BLOB):
        raise _refuse("is in revoscalepy's 'blob' format (rx_serialize_model with realtime_scoring_only), which only "
                      "Microsoft's runtime can read: export the model to ONNX (skl2onnx for scikit-learn)")
    if data.startswith(_R_SERIALIZED):
        raise _refuse("is a serialized R object (revoscalepy's rx_serialize_model 'blob' format), which only "
                      "Microsoft's runtime can read: export the model to ONNX (skl2onnx for scikit-learn)")
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise _refuse(f"is not an ONNX model (truncated or another format: {type(exc).__name__})") from None
    if not model.graph.node:
        raise _refuse("is not an ONNX model (no graph: truncated or another format)")
    domains = {node.domain for node in model.graph.node} | {o.domain for o in model.opset_import}
    for function in model.functions:
        domains |= {node.domain for node in function.node}
    custom = sorted(d for d in domains if d not in STANDARD_DOMAINS and d not in {f.domain for f in model.functions})
    if custom:
        raise _refuse(f"uses custom operator domains ({', '.join(custom)}): only the standard ONNX operators run here")
    for tensor in _all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            raise _refuse(f"keeps tensor '{tensor.name}' in an external file: save the model with all its data inside")
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # the checker raises its own ValidationError, or others from shape inference
        raise _refuse(f"does not pass the ONNX checker: {str(exc).splitlines()[0][:300]}") from None
    initializers = {t.name for t in model.graph.initializer}
    inputs = tuple(_spec(v, "input") for v in model.graph.input if v.name not in initializers)
    outputs = tuple(_spec(v, "output") for v in model.graph.output)
    if not inputs or not outputs:
        raise _refuse("has no inputs or no outputs")
    signature = ModelSignature(inputs, outputs)
    if not signature.matrix_input and any(t.columns != 1 for t in inputs):
        raise _refuse("has several inputs, not all of one column ([N] or [N, 1]): this server maps data frame "
                      "columns to one matrix input or to one input per column")
    return signature


def _all_tensors(model: object) -> list[Any]:
    graph = model.graph  # type: ignore[attr-defined]
    tensors = list(graph.initializer)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                tensors.append(attribute.t)
            tensors.extend(attribute.tensors)
    return tensors


def _spec(value: object, what: str) -> TensorSpec:
    kind = value.type  # type: ignore[attr-defined]
    name = value.name  # type: ignore[attr-defined]
    if kind.HasField("tensor_type"):
        element = ELEMENT_TYPES.get(kind.tensor_type.elem_type)
        if element is None:
            raise _refuse(f"{what} '{name}' has an element type this server cannot read from JSON")
        dims = tuple((d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
                     for d in kind.tensor_type.shape.dim)
        if len(dims) > 2:
            raise _refuse(f"{what} '{name}' has {len(dims)} dimensions; a data frame has two")
        return TensorSpec(name, element, dims)
    if what == "output" and kind.HasField("sequence_type") and kind.sequence_type.elem_type.HasField("map_type"):
        return TensorSpec(name, "map", (None,))
    raise _refuse(f"{what} '{name}' is not a tensor (or, for outputs, a sequence of maps)")


@dataclass(frozen=True, eq=False)
class ModelRef:
    """A realtime service's model as the consume path needs it (built by the catalog, cached)."""

    digest: str  # sha256 of the ONNX file: its blob in the artifact store
    path: str  # a complete local copy (what a worker is given a descriptor of)
    signature: ModelSignature
    size: int
    scorer: Any = None  # an OnnxScorer in this process, only with realtime_in_process

    def to_json(self) -> dict[str, object]:
        """The `model` member of a realtime service's view (an o16n extension)."""
        return {**self.signature.to_json(), "sizeBytes": self.size}


def check_frame(signature: ModelSignature, frame: dict[str, list[Any]]) -> int:
    """The number of rows of a checked `inputData` frame that fits the model, or a 400 saying how it does not."""
    if not frame:
        raise BadRequest("'inputData' has no columns", field="inputData")
    rows = len(next(iter(frame.values())))
    if rows == 0:
        raise BadRequest("'inputData' has no rows", field="inputData")
    if signature.matrix_input:
        tensor = signature.inputs[0]
        width = tensor.columns
        if width is not None and len(frame) != width:
            raise BadRequest(f"'inputData' has {len(frame)} columns; the model's input '{tensor.name}' takes {width} "
                             "(in the order it was trained on)", field="inputData")
        return rows
    missing = [t.name for t in signature.inputs if t.name not in frame]
    if missing:
        raise BadRequest(f"'inputData' lacks the column(s) {', '.join(missing)} the model takes", field="inputData")
    return rows
