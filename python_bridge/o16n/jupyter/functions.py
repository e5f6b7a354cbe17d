"""Notebook functions as the relay sees them: FunctionInfo with wire types, and a function turned
into service code and parameters (with `o16n.wire.binding`, as the client's ``code_fn`` does).
"""

from __future__ import annotations

from typing import Any

from o16n.wire import binding
from o16n.wire.errors import WireError
from o16n.wire.types import canonical_type

from .errors import RelayError

DEFAULT_OUTPUT = "result"


def wire_type(annotation: str | None) -> str | None:
    """A kernel annotation name ("float", "numpy.ndarray", ...) as an o16n wire type, if it maps."""
    if not annotation:
        return None
    try:
        return canonical_type(annotation)
    except WireError:
        return None


def function_info(raw: dict[str, Any]) -> dict[str, Any]:
    """A FunctionInfo from the kernel's description: `annotation`/`returns` as wire types when they
    map (else the Python name), the Python names in `pythonType`/`pythonReturns`."""
    info = {k: v for k, v in raw.items() if k not in ("source", "error")}
    info["parameters"] = [{**p, "pythonType": p.get("annotation"),
                           "annotation": wire_type(p.get("annotation")) or p.get("annotation")}
                          for p in raw.get("parameters", [])]
    info["pythonReturns"] = raw.get("returns")
    info["returns"] = wire_type(raw.get("returns")) or raw.get("returns")
    return info


def function_code(info: dict[str, Any], inputs: list[dict[str, str]], outputs: list[dict[str, str]]) -> str:
    """A kernel function published as its source plus the call line binding inputs and outputs."""
    try:
        bound = binding.bind_parameters(info["name"], binding.params_from_info(info.get("parameters", [])),
                                        [p["name"] for p in inputs])
    except WireError as exc:
        raise RelayError(400, exc.message, exc.field) from None
    return binding.function_code(info["source"], bound, [o["name"] for o in outputs])


def function_inputs(info: dict[str, Any]) -> list[dict[str, str]]:
    """Inputs from a kernel function's annotations (every parameter without a default must map)."""
    inputs = []
    for p in info.get("parameters", []):
        wire = wire_type(p.get("annotation"))
        if wire is None:
            if p.get("default") is not None:
                continue
            raise RelayError(400, f"parameter {p['name']!r} of {info['name']} has no annotation that maps to "
                                  "an o16n type: annotate it or give 'inputs'", "inputs")
        inputs.append({"name": p["name"], "type": wire})
    return inputs


def function_outputs(info: dict[str, Any]) -> list[dict[str, str]]:
    """One output named ``result`` from the return annotation (none for ``-> None`` or no annotation)."""
    returns = info.get("returns")
    if returns in (None, "None"):
        return []
    wire = wire_type(returns)
    if wire is None:
        raise RelayError(400, f"the return annotation {returns!r} of {info['name']} does not map to an o16n type: "
                              "give 'outputs'", "outputs")
    return [{"name": DEFAULT_OUTPUT, "type": wire}]
