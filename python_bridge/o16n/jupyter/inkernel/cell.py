"""`analyze` for cell code: module-level reads and writes in execution order (ast), the reads of
the functions and lambdas it defines (symtable), and the kernel's live values."""

import ast
import symtable

from .common import Refused, is_builtin
from .guess import Env, Parents, guess_type, usage_hint
from .livetypes import describe_value, wire_of_value
from .objects import ObjectCollector


class CellReader:
    """Module-level names of cell code in execution order: what is read before it is assigned,
    what is assigned, and the expressions assigned (nested scopes come from symtable)."""

    SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)

    def __init__(self, tree):
        self.defined = set()
        self.free = {}          # name -> first Name node read before any assignment
        self.assigned = []      # names assigned as data (outputs candidates), first-assignment order
        self.not_data = set()   # imports, def/class names, loop/with/except targets
        self.values = {}        # name -> last expression assigned to it
        self.read_after = {}    # name -> reads after its (first) assignment
        self.assigned_at = {}
        self.step = 0
        for statement in tree.body:
            self.statement(statement)

    def read(self, node):
        self.step += 1
        name = node.id
        if name not in self.defined:
            self.free.setdefault(name, node)
        elif name in self.assigned_at:
            self.read_after[name] = self.read_after.get(name, 0) + 1

    def store(self, name, value=None, data=True):
        self.defined.add(name)
        if not data:
            self.not_data.add(name)
            return
        if name not in self.assigned_at:
            self.assigned.append(name)
            self.assigned_at[name] = self.step
        self.values[name] = value

    def targets(self, target, value=None, data=True):
        if isinstance(target, ast.Name):
            self.store(target.id, value, data)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.targets(element, None, data)
        elif isinstance(target, ast.Starred):
            self.targets(target.value, None, data)
        else:  # x.attr = ..., x[0] = ...: x is read, not bound
            self.expression(target)

    def expression(self, node, bound=frozenset()):
        """Reads in an expression, in evaluation order; `bound`: comprehension variables in scope.

        Function and lambda bodies run later: their reads come from symtable (nested_global_reads).
        """
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in bound:
                self.read(node)
            return
        if isinstance(node, self.SCOPES):
            if isinstance(node, ast.Lambda):
                for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                    self.expression(default, bound)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = set(bound)
            for generator in node.generators:
                self.expression(generator.iter, frozenset(inner))
                inner |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
                for condition in generator.ifs:
                    self.expression(condition, frozenset(inner))
            parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
            for part in parts:
                self.expression(part, frozenset(inner))
            return
        if isinstance(node, ast.NamedExpr):
            self.expression(node.value, bound)
            self.store(node.target.id, node.value)
            return
        for child in ast.iter_child_nodes(node):
            self.expression(child, bound)

    def statement(self, node):
        if isinstance(node, ast.Assign):
            self.expression(node.value)
            for target in node.targets:
                self.targets(target, node.value)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.read(ast.Name(id=node.target.id, ctx=ast.Load()))
            self.expression(node.value)
            self.targets(node.target, node)
        elif isinstance(node, ast.AnnAssign):
            self.expression(node.value)
            if node.value is not None:
                self.targets(node.target, node.value)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    self.store((alias.asname or alias.name).split(".")[0], data=False)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                self.expression(decorator)
            if not isinstance(node, ast.ClassDef):
                for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                    self.expression(default)
            else:
                for base in node.bases:
                    self.expression(base)
            self.store(node.name, data=False)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expression(node.iter)
            self.targets(node.target, data=False)
            for child in node.body + node.orelse:
                self.statement(child)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expression(item.context_expr)
                if item.optional_vars is not None:
                    self.targets(item.optional_vars, data=False)
            for child in node.body:
                self.statement(child)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            for child in node.body:
                self.statement(child)
            for handler in node.handlers:
                self.expression(handler.type)
                if handler.name:
                    self.store(handler.name, data=False)
                for child in handler.body:
                    self.statement(child)
            for child in node.orelse + node.finalbody:
                self.statement(child)
        elif isinstance(node, (ast.If, ast.While)):
            self.expression(node.test)
            for child in node.body + node.orelse:
                self.statement(child)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if not isinstance(target, ast.Name):
                    self.expression(target)
        elif type(node).__name__ == "Match":
            self.expression(node.subject)
            for case in node.cases:
                for child in ast.walk(case.pattern):
                    name = getattr(child, "name", None)
                    if isinstance(name, str):
                        self.store(name, data=False)
                self.expression(case.guard)
                for child in case.body:
                    self.statement(child)
        else:  # Expr, Return, Raise, Assert, ...
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self.statement(child)
                else:
                    self.expression(child)


COMPREHENSIONS = ("listcomp", "setcomp", "dictcomp", "genexpr")


def nested_global_reads(code):
    """Names that functions, lambdas and classes of `code` read from module scope (symtable).

    Comprehensions run where they stand, so CellReader reads them in order instead.
    """
    reads = set()
    stack = list(symtable.symtable(code, "<cell>", "exec").get_children())
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        if table.get_name() in COMPREHENSIONS:
            continue
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (symbol.is_declared_global() or symbol.is_global() and not symbol.is_assigned()):
                reads.add(symbol.get_name())
    return reads


def analyze_code(user_ns, code, chosen=None):
    try:
        tree = ast.parse(code)
        nested = nested_global_reads(code)
    except SyntaxError as exc:
        raise Refused("'code' has a syntax error on line %s: %s" % (exc.lineno, exc.msg), "code") from None
    Parents().visit(tree)
    reader = CellReader(tree)
    free = list(reader.free)
    free += [n for n in sorted(nested) if n not in reader.defined and n not in reader.free]
    collector = ObjectCollector(user_ns, chosen)
    inputs = []
    for name in free:
        if is_builtin(name) and name not in user_ns:
            continue
        if collector.take(name, "read by the code"):
            continue
        node = reader.free.get(name)
        inputs.append(_input_row(name, node, user_ns))
    input_names = {row["name"] for row in inputs}
    outputs = _output_rows(reader, input_names, Env(user_ns, {r["name"]: (r["type"], r["reason"]) for r in inputs}))
    return {"inputs": inputs, "outputs": outputs, "objects": collector.objects, "notes": collector.notes,
            "function": None}


def _input_row(name, node, user_ns):
    live = user_ns.get(name, Env.MISSING)
    if live is not Env.MISSING and wire_of_value(live):
        return {"name": name, "type": wire_of_value(live),
                "reason": "read before assigned; %s in the kernel is %s" % (name, describe_value(live))}
    hint = usage_hint(node) if node is not None else None
    if hint:
        return {"name": name, "type": hint[0], "reason": "read before assigned; " + hint[1]}
    where = "read before assigned" if node is not None else "read by a function of the code, never assigned"
    return {"name": name, "type": "numeric", "reason": where + "; numeric is a guess"}


def _output_rows(reader, input_names, env):
    candidates = [n for n in reader.assigned if n not in input_names]
    outputs = [n for n in candidates if not reader.read_after.get(n)]
    last = False
    if not outputs and candidates:
        outputs, last = [candidates[-1]], True
    rows = []
    for name in outputs:
        kind, reason = guess_type(reader.values.get(name), env) if reader.values.get(name) is not None else (None, None)
        if kind is None:
            kind, reason = env(name)
        if kind is None:
            kind, reason = "numeric", "no type could be guessed"
        env.known[name] = (kind, reason)
        why = "assigned last" if last else "assigned and not read again"
        rows.append({"name": name, "type": kind, "reason": "%s; %s" % (why, reason)})
    return rows
