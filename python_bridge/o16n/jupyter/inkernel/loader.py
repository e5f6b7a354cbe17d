"""Load a package sent as source (`{"name", "modules": [[module, source], ...]}`) under a private
name in `sys.modules`, once per version: relative imports work, nothing touches the user's names.

This module is also sent on its own, first: it is how the rest arrives.
"""

import sys
import types


def load_bundle(bundle):
    """The package `bundle` describes, from `sys.modules` when this version was loaded before.

    Modules load in the order given (a module's relative imports must come before it); a module
    named "" is the package's own `__init__`, run last.
    """
    name = bundle["name"]
    if name in sys.modules:
        return sys.modules[name]
    package = types.ModuleType(name)
    package.__path__ = []
    package.__package__ = name
    sys.modules[name] = package
    try:
        init = None
        for module_name, source in bundle["modules"]:
            if not module_name:
                init = source
                continue
            module = types.ModuleType(name + "." + module_name)
            module.__package__ = name
            sys.modules[module.__name__] = module  # dataclasses look their module up while it loads
            exec(compile(source, "<o16n %s>" % module.__name__, "exec"), module.__dict__)
            setattr(package, module_name, module)
        if init is not None:
            exec(compile(init, "<o16n %s>" % name, "exec"), package.__dict__)
    except BaseException:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        raise
    return package
