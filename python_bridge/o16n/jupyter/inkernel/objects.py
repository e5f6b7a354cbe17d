"""The kernel objects code needs, following the notebook functions it calls ("used by predict").

Modules, imported classes and imported functions are not objects: the service code imports them.
Class *instances* (a fitted sklearn.svm.SVC) are objects like any data.
"""

import dis
import types

from .common import imported, is_builtin, is_internal, is_user_function


def global_reads(fn):
    """Global names a function's code (and the code nested in it) loads, in first-use order."""
    names, seen, stack = [], set(), [fn.__code__]
    while stack:
        code = stack.pop(0)
        for instruction in dis.get_instructions(code):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval not in seen:
                seen.add(instruction.argval)
                names.append(instruction.argval)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return names


class ObjectCollector:
    """The kernel objects code needs, following the notebook functions it calls ("used by predict")."""

    def __init__(self, user_ns, chosen=None):
        self.user_ns = user_ns
        self.chosen = None if chosen is None else set(chosen)
        self.objects = []
        self.notes = []
        self._seen = set()

    def exclude(self, name):
        """Never list `name` (the function being analyzed, which the service defines itself)."""
        self._seen.add(name)

    def take(self, name, reason, namespace=None):
        """Record `name` if it is a kernel object (True), or a note about it; False: not in the kernel."""
        namespace = self.user_ns if namespace is None else namespace
        if name not in namespace:
            return False
        value = namespace[name]
        if name in self._seen:
            return True
        if is_internal(name, value):
            return True
        why = imported(value)
        if why:
            self._seen.add(name)
            self.notes.append({"name": name, "reason": why})
            return True
        if self.chosen is not None and name not in self.chosen and not is_user_function(value):
            return False  # the user shipped it as an input instead
        self._seen.add(name)
        if is_user_function(value):
            self.objects.append({"name": name, "reason": reason + "; a function defined in the notebook"})
            self.follow(value)
        elif isinstance(value, type):
            self.objects.append({"name": name, "reason": reason + "; a class defined in the notebook"})
        else:
            self.objects.append({"name": name, "reason": reason})
        return True

    def follow(self, fn):
        for name in global_reads(fn):
            if name == fn.__name__:
                continue
            if not self.take(name, "used by " + fn.__name__, fn.__globals__) and not is_builtin(name):
                if name not in self._seen:
                    self._seen.add(name)
                    self.notes.append({"name": name, "reason": "read by %s but not defined in the kernel" % fn.__name__})
