"""`analyze` for a notebook function: inputs from its parameters, outputs from its return annotation
(or what it returns), and the kernel objects it and the functions it calls read."""

import ast
import inspect
import types

from .common import DEFAULT_OUTPUT, Refused, describe_function, source_of
from .guess import Env, Parents, guess_type, usage_hint
from .livetypes import wire_of_value
from .objects import ObjectCollector


def _annotation_type(wire, name):
    if not name:
        return None
    try:
        return wire.types.canonical_type(name)
    except ValueError:
        return None


def analyze_function(user_ns, name, wire):
    fn = user_ns.get(name)
    if not isinstance(fn, types.FunctionType):
        raise Refused("%r is not a function defined in this kernel" % name, "functionName")
    info = describe_function(fn)
    if info is None:
        raise Refused("cannot read the signature of %s" % name, "functionName")
    tree = None
    try:
        tree = ast.parse(source_of(fn))
    except (OSError, TypeError, SyntaxError):
        pass
    function_node = tree.body[0] if tree is not None and tree.body and \
        isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if function_node is not None:
        Parents().visit(function_node)
    inputs = []
    known = {}
    for p in info["parameters"]:
        kind, reason = _annotation_type(wire, p["annotation"]), None
        if kind:
            reason = "annotation %s" % p["annotation"]
        elif p["default"] is not None:
            default = inspect.signature(fn).parameters[p["name"]].default
            kind = wire_of_value(default)
            reason = "default %s" % p["default"] if kind else None
        if not kind and function_node is not None:
            kind, reason = _use_hint(function_node, p["name"])
        if not kind:
            kind, reason = "numeric", "no annotation; numeric is a guess"
        known[p["name"]] = (kind, reason)
        inputs.append({"name": p["name"], "type": kind, "reason": reason})
    collector = ObjectCollector(user_ns)
    collector.exclude(name)
    collector.follow(fn)
    outputs = _function_outputs(fn, info, function_node, Env(fn.__globals__, known), wire)
    return {"inputs": inputs, "outputs": outputs, "objects": collector.objects, "notes": collector.notes,
            "function": info}


def _use_hint(function_node, name):
    """(type, reason) from how the body first uses parameter `name` in a telling way, else (None, None)."""
    for node in ast.walk(function_node):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
            hint = usage_hint(node)
            if hint:
                return hint[0], "no annotation; " + hint[1]
    return None, None


def _function_outputs(fn, info, node, env, wire):
    returns = info["returns"]
    if returns == "None":
        return []
    kind = _annotation_type(wire, returns)
    if kind:
        return [{"name": DEFAULT_OUTPUT, "type": kind, "reason": "return annotation %s" % returns}]
    values = _returned(node) if node is not None else []
    for value in values:  # -> dict: one output per key of a returned {"label": ..., ...}
        if isinstance(value, ast.Dict) and value.keys and all(
                isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value.isidentifier() for k in value.keys):
            _locals(node, env)
            rows = []
            for key, item in zip(value.keys, value.values):
                item_kind, reason = guess_type(item, env)
                rows.append({"name": key.value, "type": item_kind or "numeric",
                             "reason": "key of the returned dict; " + (reason or "numeric is a guess")})
            return rows
    if node is not None and not values:
        return []  # returns nothing
    if node is not None:
        _locals(node, env)
    for value in values:
        value_kind, reason = guess_type(value, env)
        if value_kind:
            return [{"name": DEFAULT_OUTPUT, "type": value_kind, "reason": "returns " + reason}]
    return [{"name": DEFAULT_OUTPUT, "type": "numeric",
             "reason": "return annotation %s does not map; numeric is a guess" % returns if returns else
             "no return annotation; numeric is a guess"}]


def _returned(function_node):
    found = []
    stack = list(function_node.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            found.append(node.value)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _locals(function_node, env):
    """Types of a function's local assignments, in order, so `return total` knows `total`."""
    for node in ast.walk(function_node):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name not in env.known:
                kind, reason = guess_type(node.value, env)
                if kind:
                    env.known[name] = (kind, reason)
