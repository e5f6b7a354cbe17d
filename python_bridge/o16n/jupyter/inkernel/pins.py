"""The environment a published service needs: the Python version and the distributions
(``name==version``) that provide the modules its objects and code use, with why each is there.

Runs in notebook kernels (sent as source, like the rest of `inkernel`) and in `o16n.client`, so it
keeps to the standard library and Python 3.8. How the modules are found:

- objects: pickled with dill by a pickler that records the module of every class, function and
  module it meets (`ModuleRecorder`): exactly what unpickling will import, down to the numpy
  arrays inside a fitted estimator. The relay's capture step records while it writes the files;
  analysis pickles into a byte counter, within a time budget (a type walk past it);
- code: the ``import`` and ``from ... import`` statements of the service code and init code.

Each module's top-level package is mapped to the installed distribution providing it
(`importlib.metadata`), then the ``Requires-Dist`` of those distributions are followed, restricted to
what is installed, without extras, so the pins reproduce the kernel's versions of everything the
objects need. Not pinned: the standard library, modules defined in the notebook, the kernel's own
tooling (ipykernel, IPython, o16n itself) and distributions installed from a local path or a URL
(they cannot come from the package index: noted, for the user to add by hand).
"""

import ast
import importlib.metadata as metadata
import io
import json
import os
import platform
import re
import sys
import sysconfig
import time
import types

_SEPARATORS = re.compile(r"[-_.]+")
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"\bextra\s*==")
# The kernel's own tooling and the server's: never what a service needs.
NOT_PINNED = frozenset({"o16n", "ipykernel", "ipython", "pip", "jupyter-client", "jupyter-core", "comm",
                        "debugpy", "matplotlib-inline", "traitlets", "tornado", "pyzmq", "nest-asyncio"})
_cache = {}


def normalize(name):
    """A distribution name as the package index compares them (PEP 503): lower case, runs of -_. as -."""
    return _SEPARATORS.sub("-", str(name)).lower()


def python_version():
    return platform.python_version()


# ---------------------------------------------------------------- the installed distributions
def _path_stamp():
    stamp = []
    for entry in sys.path:
        try:
            stamp.append((entry, os.stat(entry or ".").st_mtime))
        except OSError:
            stamp.append((entry, None))
    return tuple(stamp)


def installed():
    """``(dists, providers)``: {normalized name: Distribution} (the first on sys.path wins) and
    {top-level module: [normalized dist names]}; cached until an entry of sys.path changes (pip install)."""
    stamp = _path_stamp()
    if _cache.get("stamp") == stamp:
        return _cache["dists"], _cache["providers"]
    dists, providers = {}, {}
    for dist in metadata.distributions():
        try:
            name = normalize(dist.metadata["Name"])
        except Exception:
            continue
        if not name or name in dists:
            continue
        dists[name] = dist
        for top in _top_levels(dist):
            providers.setdefault(top, [])
            if name not in providers[top]:
                providers[top].append(name)
    _cache.update(stamp=stamp, dists=dists, providers=providers)
    return dists, providers


def _top_levels(dist):
    text = None
    try:
        text = dist.read_text("top_level.txt")
    except Exception:
        text = None
    if text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    tops = set()
    for item in dist.files or []:
        parts = item.parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info")) or parts[0] in ("..", "__pycache__"):
            continue
        first = parts[0]
        if len(parts) == 1:
            if first.endswith(".py"):
                tops.add(first[:-3])
            elif first.endswith((".so", ".pyd")):
                tops.add(first.split(".", 1)[0])
        elif first.isidentifier():
            tops.add(first)
    return sorted(tops)


def _from_local(dist):
    """Where a distribution was installed from when that was not the package index, else None."""
    try:
        text = dist.read_text("direct_url.json")
    except Exception:
        return None
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return "a direct URL"
    url = str(info.get("url", ""))
    if "dir_info" in info:
        return "the local folder " + url.replace("file://", "", 1)
    if "vcs_info" in info:
        return "version control (" + url + ")"
    return url or "a direct URL"


def _requires(dist):
    """Names of the distributions ``dist`` requires, without extras, normalized."""
    names = []
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        if marker and _EXTRA.search(marker):
            continue
        match = _REQUIREMENT.match(spec)
        if match:
            names.append(normalize(match.group(1)))
    return names


# ---------------------------------------------------------------- modules of objects and code
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | frozenset(sys.builtin_module_names)
_STDLIB_DIR = os.path.normcase(os.path.realpath(sysconfig.get_paths()["stdlib"]))


def is_stdlib(top):
    if top in _STDLIB or top in ("__main__", "builtins", "__builtin__", "__mp_main__"):
        return True
    if _STDLIB:  # 3.10+: the list is complete
        return False
    module = sys.modules.get(top)  # 3.8/3.9: where the module lives
    where = getattr(module, "__file__", None)
    if not where:
        return module is not None
    where = os.path.normcase(os.path.realpath(where))
    return where.startswith(_STDLIB_DIR) and "site-packages" not in where and "dist-packages" not in where


class _Budget(Exception):
    pass


def _module_of(obj):
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(obj, "__module__", None)
        return module if isinstance(module, str) else None
    module = getattr(type(obj), "__module__", None)
    return module if isinstance(module, str) else None


def recorder_class():
    """A dill pickler that records the top-level package of every module the pickle refers to."""
    import dill

    class ModuleRecorder(dill.Pickler):
        def __init__(self, file, *args, deadline=None, **kwargs):
            dill.Pickler.__init__(self, file, *args, **kwargs)
            self.modules = {}
            self.deadline = deadline
            self.count = 0

        def persistent_id(self, obj):
            self.count += 1
            if self.deadline is not None and self.count % 2000 == 0 and time.time() > self.deadline:
                raise _Budget()
            module = _module_of(obj)
            if module:
                top = module.split(".", 1)[0]
                if top not in self.modules:
                    self.modules[top] = module
            return None

    return ModuleRecorder


class _Sink(io.RawIOBase):
    def writable(self):
        return True

    def write(self, data):
        return len(data) if not isinstance(data, memoryview) else data.nbytes


def modules_of_value(value, deadline=None, protocol=4):
    """{top-level package: a full module name} of what unpickling ``value`` imports; a type walk
    (the value's class and bases) when dill is missing, fails, or runs past ``deadline``."""
    try:
        recorder = recorder_class()(_Sink(), protocol, byref=None, fmode=None, recurse=True, deadline=deadline)
        recorder.dump(value)
        return recorder.modules, None
    except _Budget:
        why = "not fully inspected (took too long): only its class was looked at"
    except ImportError:
        why = "dill is not installed in this kernel: only its class was looked at"
    except Exception as exc:
        why = "cannot be serialized (%s): only its class was looked at" % type(exc).__name__
    modules = {}
    for cls in type(value).__mro__:
        module = getattr(cls, "__module__", None)
        if isinstance(module, str):
            modules.setdefault(module.split(".", 1)[0], module)
    return modules, why


def modules_of_code(source):
    """{top-level package: the imported name} of the absolute imports in ``source`` (a syntax
    error gives none: analysis reports it)."""
    found = {}
    try:
        tree = ast.parse(source or "")
    except (SyntaxError, ValueError):
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name.split(".", 1)[0], alias.name)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.setdefault(node.module.split(".", 1)[0], node.module)
    return found


def public_name(value):
    """``sklearn.svm.SVC`` for an SVC (the shortest public module exporting the class), else the
    qualified type name."""
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    if module in ("builtins", "__main__"):
        return cls.__qualname__
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        if any(p.startswith("_") for p in parts[1:end]):
            break
        owner = sys.modules.get(prefix)
        if owner is not None and getattr(owner, cls.__name__, None) is cls:
            return prefix + "." + cls.__qualname__
    return module + "." + cls.__qualname__


# ---------------------------------------------------------------- the environment
class EnvironmentBuilder:
    """Collects modules with their reasons, then resolves them to pins (`result`)."""

    def __init__(self):
        self.modules = {}  # top-level package -> reason (the first one found)
        self.notes = []

    def add_modules(self, modules, reason):
        for top in modules:
            if top and not is_stdlib(top) and top not in self.modules:
                self.modules[top] = reason(top, modules[top])

    def add_object(self, name, value, modules=None, why=None, deadline=None, described=None):
        """The modules of object ``name`` (``modules``: recorded already while capturing it;
        ``described``: the public type name of the value that was pickled, when ``value`` is not it)."""
        if modules is None:
            modules, why = modules_of_value(value, deadline)
        described = described or public_name(value)
        own = described.split(".", 1)[0] if "." in described else ""

        def reason(top, module):
            if top == "dill":
                return "dill serializes %s" % name
            if top == own:
                return "%s is a %s" % (name, described)
            return "used inside %s" % name
        self.add_modules(modules, reason)
        if why:
            self.notes.append("%s: %s" % (name, why))

    def add_code(self, source, what="the code"):
        self.add_modules(modules_of_code(source), lambda top, module: "imported by " + what)

    def result(self):
        """``{python, packages: [{name, version, reason, direct}], notes: [str]}``, packages by name."""
        dists, providers = installed()
        pins, queue = {}, []
        for top, reason in self.modules.items():
            names = providers.get(top)
            if not names:
                module = sys.modules.get(top)
                if module is not None and getattr(module, "__file__", None):
                    self.notes.append("%s (%s) is not from an installed distribution: ship it with the service "
                                      "(a file) or install it as a package" % (top, reason))
                continue
            for name in names:
                if name in pins:
                    continue
                pins[name] = {"reason": "provides %s (%s)" % (top, reason), "direct": True}
                queue.append(name)
        while queue:
            name = queue.pop(0)
            dist = dists.get(name)
            if dist is None:
                continue
            for required in _requires(dist):
                if required not in pins and required in dists:
                    pins[required] = {"reason": "required by " + dist.metadata["Name"], "direct": False}
                    queue.append(required)
        packages = []
        for name in sorted(pins):
            dist = dists.get(name)
            if dist is None or name in NOT_PINNED:
                continue
            local = _from_local(dist)
            if local:
                self.notes.append("%s %s is installed from %s, not from the package index: not pinned "
                                  "(add a pin the server can install)" % (name, dist.version, local))
                continue
            packages.append({"name": name, "version": dist.version, **pins[name]})
        return {"python": python_version(), "packages": packages, "notes": self.notes}


def environment_of(user_ns, names, sources=(), budget_seconds=10.0, recorded=None):
    """The environment of objects ``names`` of ``user_ns`` and the code ``sources``
    (``[(text, what)]``); ``recorded``: {name: modules} already recorded while capturing."""
    builder = EnvironmentBuilder()
    deadline = time.time() + budget_seconds
    for name in names:
        if name not in user_ns:
            continue
        modules = (recorded or {}).get(name)
        builder.add_object(name, user_ns[name], modules=modules, deadline=deadline)
    for text, what in sources:
        if text:
            builder.add_code(text, what)
    return builder.result()


def as_pins(environment):
    """``["name==version", ...]``: the packages of an environment as requirement strings."""
    return ["%s==%s" % (p["name"], p["version"]) for p in environment.get("packages", [])]
