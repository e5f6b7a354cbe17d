"""The one function binding: which parameters of a published function receive the service inputs
(and how), and the code that calls the function and stores what it returns in the outputs.

Used by the client's `code_fn`, the relay's publish of a kernel function and the lab's Test run, so
the three always agree. At consume time every input is a variable of the service's namespace
named after it; the call line passes those variables to the function:

- a parameter that is an input is passed positionally while every parameter before it was passed
  too, else by keyword (`def f(a, b=1, *, c)` with inputs a, c: `f(a, c=c)`);
- a parameter that is not an input keeps its default; without a default it is an error naming it;
- an input that is no parameter stays a plain variable the code may read as a global;
- one output receives the return value itself (whatever it is, a dict included); several outputs
  take it from a dict by name, or from a sequence in declared order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import WireError

POSITIONAL_ONLY = "POSITIONAL_ONLY"
POSITIONAL_OR_KEYWORD = "POSITIONAL_OR_KEYWORD"
KEYWORD_ONLY = "KEYWORD_ONLY"
VAR_POSITIONAL = "VAR_POSITIONAL"
VAR_KEYWORD = "VAR_KEYWORD"
RESULT_VARIABLE = "__o16n_result"  # holds the return value while several outputs are bound


@dataclass(frozen=True)
class Param:
    """One parameter of a function's signature, as binding needs it."""

    name: str
    kind: str = POSITIONAL_OR_KEYWORD
    has_default: bool = False


@dataclass(frozen=True)
class Binding:
    """How a function is called: these inputs positionally, then those by keyword."""

    function: str
    args: tuple[str, ...] = ()
    kwargs: tuple[str, ...] = ()


def params_of(fn: Callable[..., Any]) -> list[Param]:
    """The parameters of a live function (what the client and the kernel see)."""
    return [Param(p.name, p.kind.name, p.default is not inspect.Parameter.empty)
            for p in inspect.signature(fn).parameters.values()]


def params_from_info(parameters: Iterable[dict[str, Any]]) -> list[Param]:
    """The parameters of a FunctionInfo (`/o16n/kernels/{id}/namespace`): `default` null means none."""
    return [Param(str(p["name"]), str(p.get("kind") or POSITIONAL_OR_KEYWORD), p.get("default") is not None)
            for p in parameters]


def bind_parameters(function: str, params: Sequence[Param], inputs: Iterable[str]) -> Binding:
    """Bind the declared inputs to the parameters; WireError (field `inputs`) naming the parameter."""
    given = set(inputs)
    args: list[str] = []
    kwargs: list[str] = []
    skipped: str | None = None  # the first positional parameter left to its default
    for p in params:
        if p.kind in (VAR_POSITIONAL, VAR_KEYWORD):
            continue
        if p.name not in given:
            if not p.has_default:
                raise WireError("inputs", f"parameter '{p.name}' of {function} has no default and is not an input: "
                                          f"declare an input '{p.name}'")
            if p.kind != KEYWORD_ONLY and skipped is None:
                skipped = p.name
            continue
        if p.kind == KEYWORD_ONLY:
            kwargs.append(p.name)
        elif skipped is None:
            args.append(p.name)
        elif p.kind == POSITIONAL_ONLY:
            raise WireError("inputs", f"parameter '{p.name}' of {function} is positional-only and comes after "
                                      f"'{skipped}', which is not an input: declare an input '{skipped}' too")
        else:
            kwargs.append(p.name)
    return Binding(function, tuple(args), tuple(kwargs))


def call_code(binding: Binding, outputs: Sequence[str]) -> str:
    """The line(s) calling the function and binding its outputs."""
    call_args = ", ".join(list(binding.args) + [f"{k}={k}" for k in binding.kwargs])
    call = f"{binding.function}({call_args})"
    if not outputs:
        return call + "\n"
    if len(outputs) == 1:
        return f"{outputs[0]} = {call}\n"
    lines = [f"{RESULT_VARIABLE} = {call}", f"if isinstance({RESULT_VARIABLE}, dict):"]
    lines += [f"    {o} = {RESULT_VARIABLE}[{o!r}]" for o in outputs]
    lines += ["else:", f"    {', '.join(outputs)}, = {RESULT_VARIABLE}", f"del {RESULT_VARIABLE}"]
    return "\n".join(lines) + "\n"


def function_code(source: str, binding: Binding, outputs: Sequence[str]) -> str:
    """What a published function runs: its own source, then the call line."""
    return source.rstrip() + "\n\n" + call_code(binding, outputs)
