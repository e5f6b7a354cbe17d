"""The wire type a live value of the kernel would travel as, and short descriptions for reasons."""

from .common import type_name

STRING_METHODS = {"upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "format", "join", "replace",
                  "casefold", "center", "zfill", "split", "splitlines", "encode", "startswith", "endswith"}
PREDICTORS = {"predict", "predict_proba", "predict_log_proba", "decision_function", "transform", "score_samples",
              "kneighbors", "fit_predict", "fit_transform"}


def wire_of_value(value):
    """The wire type a live value would travel as, or None."""
    if isinstance(value, bool):
        return "logical"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "numeric"
    if isinstance(value, str):
        return "character"
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        ndim = getattr(value, "ndim", None)
        if ndim == 0:
            return {"b": "logical", "i": "integer", "u": "integer", "f": "numeric", "U": "character",
                    "S": "character"}.get(kind)
        if ndim == 1:
            return "vector"
        if ndim == 2:
            return "matrix"
        return None
    if module.startswith("pandas"):
        if hasattr(value, "columns"):
            return "data.frame"
        if hasattr(value, "tolist"):
            return "vector"
        return None
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(row, (list, tuple)) for row in value) and len({len(r) for r in value}) == 1:
            return "matrix"
        return "vector"
    return None


def element_wire(container):
    """The wire type of one element of a live container (`names[i]`), or None."""
    if isinstance(container, str):
        return "character"
    module = type(container).__module__ or ""
    dtype = getattr(container, "dtype", None)
    if module.startswith("numpy") and dtype is not None and getattr(container, "ndim", 0) >= 1:
        if container.ndim >= 2:
            return "vector"
        kind = dtype.kind
        if kind != "O":
            return {"b": "logical", "i": "integer", "u": "integer", "f": "numeric", "U": "character",
                    "S": "character"}.get(kind)
        container = container.tolist()
    if module.startswith("pandas") and hasattr(container, "columns"):
        return "vector"  # df["col"]
    if isinstance(container, dict):
        container = list(container.values())
    if isinstance(container, (list, tuple)) and container:
        found = {wire_of_value(item) for item in list(container)[:200]}
        if len(found) == 1:
            return found.pop()
    return None


def describe_value(value):
    """A short description of a live value for reasons: 'a list of str', 'a numpy.ndarray'."""
    if isinstance(value, (list, tuple)) and value:
        kinds = {type(item).__name__ for item in list(value)[:200]}
        if len(kinds) == 1:
            return "a %s of %s" % (type(value).__name__, kinds.pop())
    return "a " + type_name(value)
