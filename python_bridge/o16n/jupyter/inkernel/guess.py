"""Guessing wire types from code: how a free name is used, what an expression evaluates to."""

import ast

from .livetypes import PREDICTORS, STRING_METHODS, describe_value, element_wire, wire_of_value


class Parents(ast.NodeVisitor):
    """Marks every node with its parent: a usage hint looks one or two levels up from a name."""

    def generic_visit(self, node):
        for child in ast.iter_child_nodes(node):
            child._o16n_parent = node
        ast.NodeVisitor.generic_visit(self, node)


def _parent(node):
    return getattr(node, "_o16n_parent", None)


def usage_hint(node):
    """(wire type, reason) suggested by how a free name is used at `node`, or None."""
    parent = _parent(node)
    if parent is None:
        return None
    if isinstance(parent, ast.Subscript) and parent.value is node:
        index = _index(parent)
        if isinstance(index, ast.Constant) and isinstance(index.value, str):
            return "data.frame", "indexed by a column name"
        return "vector", "indexed like a sequence"
    if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
        return "vector", "iterated over"
    if isinstance(parent, ast.Call) and node in parent.args:
        func = parent.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in ("len", "sum", "min", "max", "sorted", "list", "enumerate", "zip", "iter", "array", "asarray"):
            return "vector", "passed to %s()" % name
        if name in PREDICTORS:
            return "vector", "passed to %s()" % name
    if isinstance(parent, (ast.List, ast.Tuple)) and len(parent.elts) == 1 and isinstance(_parent(parent), ast.Call):
        return "vector", "passed as one row ([%s])" % node.id
    if isinstance(parent, ast.Attribute) and parent.value is node:
        if parent.attr in STRING_METHODS:
            return "character", "uses the string method %s()" % parent.attr
        if parent.attr in ("columns", "iloc", "loc", "dtypes", "groupby", "merge"):
            return "data.frame", "uses .%s like a data frame" % parent.attr
    if isinstance(parent, (ast.BinOp, ast.Compare)):
        others = [parent.left, parent.right] if isinstance(parent, ast.BinOp) else [parent.left] + list(parent.comparators)
        for other in others:
            if other is not node and isinstance(other, ast.Constant) and isinstance(other.value, str):
                return "character", "combined with a string"
    if isinstance(parent, (ast.If, ast.While, ast.IfExp)) and parent.test is node:
        return "logical", "used as a condition"
    if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not) or isinstance(parent, ast.BoolOp):
        return "logical", "used as a condition"
    return None


def guess_type(expr, env):
    """(wire type, reason) of an expression's value, or (None, None). `env(name)` -> (type, reason)."""
    if isinstance(expr, ast.Constant):
        value = expr.value
        if value is None or isinstance(value, bytes):
            return None, None
        return wire_of_value(value), "a %s literal" % type(value).__name__
    if isinstance(expr, ast.JoinedStr):
        return "character", "an f-string"
    if isinstance(expr, (ast.Compare, ast.BoolOp)) or isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return "logical", "a comparison"
    if isinstance(expr, ast.UnaryOp):
        return guess_type(expr.operand, env)
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        if expr.elts and all(isinstance(e, (ast.List, ast.Tuple)) for e in expr.elts):
            return "matrix", "a list of rows"
        return "vector", "a list"
    if isinstance(expr, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        return "vector", "a comprehension"
    if isinstance(expr, ast.Name):
        return env(expr.id)
    if isinstance(expr, ast.IfExp):
        kind, reason = guess_type(expr.body, env)
        return (kind, reason) if kind else guess_type(expr.orelse, env)
    if isinstance(expr, ast.BinOp):
        return _binop_type(expr, env)
    if isinstance(expr, ast.Subscript):
        return _subscript_type(expr, env)
    if isinstance(expr, ast.Call):
        return _call_type(expr, env)
    if isinstance(expr, ast.Attribute):
        if expr.attr in ("size", "ndim"):
            return "integer", ".%s" % expr.attr
        if expr.attr == "shape":
            return "vector", ".shape"
    return None, None


def _binop_type(expr, env):
    left, _ = guess_type(expr.left, env)
    right, _ = guess_type(expr.right, env)
    kinds = {left, right}
    if "character" in kinds and isinstance(expr.op, (ast.Add, ast.Mod, ast.Mult)):
        return "character", "text arithmetic"
    for container in ("data.frame", "matrix", "vector"):
        if container in kinds:
            return container, "arithmetic on a %s" % container
    if kinds <= {"integer", "logical"} and None not in kinds and not isinstance(expr.op, (ast.Div, ast.Pow)):
        return "integer", "integer arithmetic"
    if kinds & {"numeric", "integer"}:
        return "numeric", "arithmetic"
    return None, None


def _index(subscript):
    index = subscript.slice
    return index.value if type(index).__name__ == "Index" else index  # Python 3.8 wraps it in ast.Index


def _subscript_type(expr, env):
    index = _index(expr)
    container = expr.value
    if isinstance(index, ast.Slice):
        kind, _ = guess_type(container, env)
        return (kind, "a slice") if kind else ("vector", "a slice")
    if isinstance(container, ast.Name):
        live = env.live(container.id)
        if live is not env.MISSING:
            kind = element_wire(live)
            if kind:
                return kind, "an element of %s (%s)" % (container.id, describe_value(live))
    kind, _ = guess_type(container, env)
    if kind == "character":
        return "character", "a character of a string"
    if kind == "matrix":
        return "vector", "a row of a matrix"
    if kind == "data.frame":
        return "vector", "a column of a data frame"
    return None, None


def _call_type(expr, env):
    func = expr.func
    if isinstance(func, ast.Name):
        name = func.id
        if name in ("int", "len", "ord") or name == "round" and len(expr.args) == 1:
            return "integer", "%s()" % name
        if name in ("float", "round"):
            return "numeric", "%s()" % name
        if name in ("str", "repr", "format", "chr"):
            return "character", "%s()" % name
        if name in ("bool", "isinstance", "all", "any", "callable"):
            return "logical", "%s()" % name
        if name in ("list", "sorted", "tuple", "set", "range", "reversed"):
            return "vector", "%s()" % name
        if name in ("abs", "min", "max", "sum"):
            kinds = {guess_type(arg, env)[0] for arg in expr.args}
            return ("integer", "%s() of integers" % name) if kinds == {"integer"} else ("numeric", "%s()" % name)
        if name == "DataFrame":
            return "data.frame", "DataFrame()"
        return None, None
    if isinstance(func, ast.Attribute):
        attr = func.attr
        if attr in ("DataFrame", "read_csv", "read_parquet", "read_json", "merge", "concat", "to_frame"):
            return "data.frame", "%s()" % attr
        if attr in ("array", "asarray"):
            if expr.args and isinstance(expr.args[0], ast.List) and expr.args[0].elts and \
                    all(isinstance(e, ast.List) for e in expr.args[0].elts):
                return "matrix", "an array of rows"
            return "vector", "%s()" % attr
        if attr in STRING_METHODS - {"split", "splitlines", "encode", "startswith", "endswith"}:
            return "character", "the string method %s()" % attr
        if attr in ("startswith", "endswith", "isdigit", "isalpha", "isnumeric", "isin", "any", "all"):
            return "logical", "%s()" % attr
        if attr in ("split", "splitlines", "tolist", "flatten", "ravel", "keys", "values") or attr in PREDICTORS:
            return "vector", "%s()" % attr
        if attr in ("sum", "mean", "std", "var", "median", "item", "score", "dot"):
            return "numeric", "%s()" % attr
        if attr in ("count", "index", "find", "argmax", "argmin"):
            return "integer", "%s()" % attr
        if attr in ("head", "tail", "copy", "assign", "drop", "dropna", "fillna", "sort_values", "reset_index") and \
                guess_type(func.value, env)[0] == "data.frame":
            return "data.frame", "%s() of a data frame" % attr
    return None, None


class Env:
    """What is known about names while reading code: guessed types, then the kernel's live values."""

    MISSING = object()

    def __init__(self, user_ns, known=None):
        self.user_ns = user_ns
        self.known = dict(known or {})

    def live(self, name):
        return self.user_ns.get(name, self.MISSING)

    def __call__(self, name):
        if name in self.known:
            return self.known[name]
        live = self.live(name)
        if live is not self.MISSING:
            kind = wire_of_value(live)
            if kind:
                return kind, "%s in the kernel is %s" % (name, describe_value(live))
        return None, None
