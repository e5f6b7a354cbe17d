"""A model for a realtime service: ONNX bytes from bytes, an `onnx.ModelProto` or a fitted
scikit-learn estimator/pipeline (converted with skl2onnx), and what its inputs and outputs are.

Runs in notebook kernels (the relay's ``convert`` step, sent as source) and in `o16n.client`
(``ServiceDefinition.realtime``): standard library only at import, Python 3.8; onnx, skl2onnx and
numpy are imported when needed, from the kernel's own environment.

The input schema comes from a sample (a frame or an array, a few rows are enough): its columns
and dtype give one tensor input ``<kind>_input: <kind>[?, columns]`` (the realtime service feeds the
frame's columns to it in order), or, for a frame whose columns differ in kind, or a pipeline that
selects its columns by name, one input per column named after it. Without a sample the estimator's
``n_features_in_`` gives a float matrix input.
"""

import sys

MODEL_FIELD = "model"
SAMPLE_FIELD = "sample"


class ModelError(ValueError):
    """The value cannot become an ONNX model; ``field`` names what is at fault (model, sample)."""

    def __init__(self, message, field=MODEL_FIELD):
        ValueError.__init__(self, message)
        self.message = message
        self.field = field


def is_model_proto(value):
    cls = type(value)
    return cls.__name__ == "ModelProto" and (cls.__module__ or "").startswith("onnx")


def is_fitted_estimator(value):
    """A fitted scikit-learn estimator or pipeline (never imports scikit-learn: a kernel that has
    not imported it has none)."""
    base = sys.modules.get("sklearn.base")
    if base is None or not isinstance(value, getattr(base, "BaseEstimator", ())) or isinstance(value, type):
        return False
    validation = sys.modules.get("sklearn.utils.validation")
    if validation is None:
        return False
    try:
        validation.check_is_fitted(value)
        return True
    except Exception:
        return False


def is_realtime_model(value):
    """What KernelObject's ``estimator`` says: can this be published as a realtime service?"""
    return is_model_proto(value) or is_fitted_estimator(value)


def _kind(dtype):
    """(skl2onnx type class name, input name prefix) for a numpy dtype."""
    code = getattr(dtype, "kind", "f")
    if code == "f":
        return "FloatTensorType", "float"  # float64 too: scikit-learn's converters compute in float32
    if code in "iu":
        return "Int64TensorType", "int64"
    if code == "b":
        return "BooleanTensorType", "bool"
    if code in "OUS":
        return "StringTensorType", "string"
    raise ModelError("the sample's dtype %s has no ONNX input type" % dtype, SAMPLE_FIELD)


def _initial_types(model, sample, by_column=False):
    from skl2onnx.common import data_types

    if sample is None:
        width = getattr(model, "n_features_in_", None)
        if not isinstance(width, int):
            raise ModelError("give a sample (a few rows of the input frame or array) to know the model's inputs",
                             SAMPLE_FIELD)
        return [("float_input", data_types.FloatTensorType([None, width]))]
    columns = getattr(sample, "columns", None)
    dtypes = getattr(sample, "dtypes", None)
    if columns is not None and dtypes is not None:  # a pandas DataFrame
        kinds = [_kind(dtypes.iloc[i]) for i in range(len(columns))]
        if by_column or len(set(kinds)) > 1:
            return [(str(c), getattr(data_types, k[0])([None, 1])) for c, k in zip(columns, kinds)]
        type_name, prefix = kinds[0] if kinds else ("FloatTensorType", "float")
        return [(prefix + "_input", getattr(data_types, type_name)([None, len(columns)]))]
    import numpy

    array = numpy.asarray(sample)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ModelError("the sample must be a frame or a 2-d array (rows x columns), not %d-d" % array.ndim,
                         SAMPLE_FIELD)
    type_name, prefix = _kind(array.dtype)
    return [(prefix + "_input", getattr(data_types, type_name)([None, array.shape[1]]))]


def _selects_by_name(model):
    """Does a pipeline pick columns by name (a ColumnTransformer with string selectors)?"""
    stack = [model]
    while stack:
        step = stack.pop()
        for _, transformer, selected in getattr(step, "transformers", None) or []:
            values = selected if isinstance(selected, (list, tuple)) else [selected]
            if any(isinstance(v, str) for v in values):
                return True
            stack.append(transformer)
        stack.extend(s for _, s in getattr(step, "steps", None) or [])
    return False


def convert_estimator(model, sample=None, target_opset=None):
    try:
        import skl2onnx
    except ImportError:
        raise ModelError("converting a scikit-learn model needs skl2onnx in this kernel (pip install skl2onnx), "
                         "or give the ONNX model itself") from None
    if not is_fitted_estimator(model):
        raise ModelError("%s is not fitted: call fit() first" % type(model).__name__)
    by_column = getattr(sample, "columns", None) is not None and _selects_by_name(model)
    initial = _initial_types(model, sample, by_column)
    import warnings

    try:
        with warnings.catch_warnings():  # scikit-learn's deprecations of attributes the converter reads
            warnings.simplefilter("ignore")
            onx = skl2onnx.convert_sklearn(model, initial_types=initial, target_opset=target_opset)
    except Exception as exc:
        raise ModelError("skl2onnx cannot convert %s: %s" % (type(model).__name__, _first_line(exc))) from None
    return onx.SerializeToString()


def _first_line(exc):
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:500]


def to_onnx(model, sample=None, target_opset=None):
    """The ONNX bytes of ``model``: bytes as they are, a ModelProto serialized, an estimator converted."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        if not data:
            raise ModelError("the model is empty")
        return data
    if is_model_proto(model):
        return model.SerializeToString()
    base = sys.modules.get("sklearn.base")
    if base is not None and isinstance(model, getattr(base, "BaseEstimator", ())):
        return convert_estimator(model, sample, target_opset)
    raise ModelError("a realtime service takes an ONNX model (bytes or onnx.ModelProto) or a fitted scikit-learn "
                     "estimator or pipeline, not a %s" % type(model).__name__)


def _describe_value(value):
    """(type, shape) of an ONNX graph input or output: ("float", ["?", 4])."""
    kind = value.type.WhichOneof("value")
    if kind == "tensor_type":
        import onnx

        tensor = value.type.tensor_type
        element = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim]
        return element, dims
    if kind == "sequence_type":
        inner = value.type.sequence_type.elem_type
        if inner.WhichOneof("value") == "map_type":
            return "seq(map)", None
        return "sequence", None
    return kind or "?", None


def describe(data):
    """``{inputs: [{name, type, shape}], outputs: [...], sizeBytes}``; inputs and outputs are
    empty when onnx is not installed here (the server checks the model anyway)."""
    info = {"inputs": [], "outputs": [], "sizeBytes": len(data)}
    try:
        import onnx
    except ImportError:
        return info
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:
        raise ModelError("not an ONNX model: %s" % _first_line(exc)) from None
    initializers = {i.name for i in model.graph.initializer}
    for key, values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        for value in values:
            if value.name in initializers:
                continue
            element, shape = _describe_value(value)
            info[key].append({"name": value.name, "type": element, "shape": shape})
    return info


def human_size(size):
    if size < 1000:
        return "%d B" % size
    if size < 1000 ** 2:
        return "%.1f kB" % (size / 1000.0)
    return "%.1f MB" % (size / 1000.0 ** 2)


def summary(info):
    """``onnx 3.1 kB, inputs float_input: float[?,4]``."""
    def one(row):
        shape = row.get("shape")
        dims = "[%s]" % ",".join(str(d) for d in shape) if shape is not None else ""
        return "%s: %s%s" % (row["name"], row["type"], dims)
    text = "onnx " + human_size(info["sizeBytes"])
    if info["inputs"]:
        text += ", inputs " + ", ".join(one(r) for r in info["inputs"])
    return text
