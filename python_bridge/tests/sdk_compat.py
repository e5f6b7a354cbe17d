"""Test-only shims that let Microsoft's ``azureml-model-management-sdk`` run on a
modern Python.

The SDK (last release 1.0.1b6.post1, 2018, "built on Python 3.5") is used
*unchanged* by the integration test ``test_azureml_sdk.py``.  Only the client
side needs help; the o16n server must work with the SDK as it is on the wire.

Install (see the report / Makefile)::

    pip install "azureml-model-management-sdk==1.0.1b6.post1"

or, without its heavy/unused deps (adal -> cryptography, liac-arff, pytz)::

    pip install --no-deps "azureml-model-management-sdk==1.0.1b6.post1" requests six

What breaks on Python >= 3.8 and what is patched here:

1. ``azureml.common.utils.function_beget`` builds the generated consume method
   (named after the service's ``operationId``) with the Python 3.5-era
   13-argument ``types.CodeType(...)`` constructor.  Python 3.8+ requires 16+
   arguments, so *every* ``get_service()`` / ``deploy()`` raises
   ``TypeError: code expected at least 16 arguments, got 13``.  Replaced by an
   equivalent that creates a real function ``<operationId>(self, in1, in2, ...)``
   which calls ``self._consume({in1: ..., ...})`` exactly like the original
   template ``fn`` in ``azureml.deploy.server.service.Service.__new__``.
   (The original code-object surgery is also the cause of the SDK's known
   ">3 inputs" bug; the replacement has no input-count limit.)
2. ``azureml.deploy.deploy_client`` does ``import imp`` (removed in Python
   3.12; a DeprecationWarning on 3.11).  On 3.12+ a minimal ``imp`` stand-in is
   installed; ``imp`` is only *used* when ``DeployClient(use=...)`` is given a
   string or a (name, path) tuple, not for ``use=MLServer``.
3. ``azureml.authentication`` does ``import adal`` at import time but only
   uses it for Azure AD (dict) authentication.  If ``adal`` is not installed
   (``--no-deps`` install) a stub module is registered that raises on use.

Nothing else was needed on Python 3.11.7 / numpy 2.4 / pandas 3.1 / six 1.17 /
dill 0.4 / requests 2.34 for the calls exercised by the test.
"""
from __future__ import annotations

import importlib
import importlib.util
import keyword
import sys
import types
import warnings

SDK_DIST = "azureml-model-management-sdk"
SDK_VERSION = "1.0.1b6.post1"

_PATCHED = False


# --------------------------------------------------------------------------- #
# 1. generated consume method
# --------------------------------------------------------------------------- #
def function_beget(fn, fn_name, fn_args, doc=""):
    """Drop-in for ``azureml.common.utils.function_beget`` (Python 3.8+).

    The SDK calls it only from ``Service.__new__`` with ``fn`` = a template
    whose body is ``self._consume({name: <arg> for each input})`` and
    ``fn_args`` = ``['self', <input names in inputParameterDefinitions order>]``.
    We build a function with exactly that positional signature.
    """
    fn_args = [str(a) for a in fn_args]
    self_name, input_names = fn_args[0], fn_args[1:]

    def _call(self, values):
        # Same semantics as the SDK template: map the declared input names to
        # the positional values, then POST /api/{name}/{version}.
        return self._consume(dict(zip(input_names, values)))

    valid = all(a.isidentifier() and not keyword.iskeyword(a) for a in fn_args)
    valid = valid and len(set(fn_args)) == len(fn_args)
    safe_name = fn_name if (fn_name.isidentifier()
                            and not keyword.iskeyword(fn_name)) else "consume"
    if valid:
        params = ", ".join(fn_args)
        values = ", ".join(input_names)
        src = (f"def {safe_name}({params}):\n"
               f"    return __o16n_call({self_name}, ({values}{',' if input_names else ''}))\n")
        namespace = {"__o16n_call": _call}
        exec(compile(src, f"<azureml-sdk-consume {fn_name}>", "exec"), namespace)
        new_fn = namespace[safe_name]
    else:  # input names that are not Python identifiers: positional only
        def new_fn(self, *values):
            if len(values) != len(input_names):
                raise TypeError(f"{fn_name}() takes {len(input_names)} positional "
                                f"arguments but {len(values)} were given")
            return _call(self, values)
    new_fn.__name__ = fn_name
    new_fn.__qualname__ = fn_name
    new_fn.__doc__ = doc
    return new_fn


# --------------------------------------------------------------------------- #
# 2./3. missing modules
# --------------------------------------------------------------------------- #
def _install_imp_stub() -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import imp  # noqa: F401  (Python <= 3.11)
        return
    except ImportError:
        pass

    mod = types.ModuleType("imp")
    mod.__doc__ = "o16n test stand-in for the removed `imp` module"

    def load_source(name, pathname, file=None):
        spec = importlib.util.spec_from_file_location(name, pathname)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def find_module(name, path=None):
        raise ImportError("imp.find_module is not available (o16n test shim); "
                          "use DeployClient(url, use=MLServer)")

    def load_module(name, *args):
        return importlib.import_module(name)

    mod.load_source = load_source
    mod.find_module = find_module
    mod.load_module = load_module
    sys.modules["imp"] = mod


def _install_adal_stub() -> None:
    try:
        import adal  # noqa: F401
        return
    except ImportError:
        pass
    mod = types.ModuleType("adal")
    mod.__doc__ = "o16n test stub: adal not installed (AAD login unsupported)"

    class AuthenticationContext:  # pragma: no cover - only for AAD auth
        def __init__(self, *a, **kw):
            raise RuntimeError("adal is not installed; Azure AD authentication "
                               "is unavailable in this test environment")

    mod.AuthenticationContext = AuthenticationContext
    sys.modules["adal"] = mod


# --------------------------------------------------------------------------- #
# entry point
# --------------------------------------------------------------------------- #
def import_sdk():
    """Apply the shims and import the SDK.

    Returns ``(DeployClient, MLServer, HttpException)``.  Raises ImportError if
    the SDK is not installed (callers can ``pytest.importorskip`` on that).
    """
    global _PATCHED
    _install_imp_stub()
    _install_adal_stub()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import azureml.common.utils as sdk_utils
        import azureml.deploy.server.service as sdk_service
        from azureml.common.http_client import HttpException
        from azureml.deploy import DeployClient
        from azureml.deploy.server import MLServer

    if not _PATCHED:
        sdk_utils.function_beget = function_beget
        # service.py did `from azureml.common.utils import function_beget`
        sdk_service.function_beget = function_beget
        _PATCHED = True
    return DeployClient, MLServer, HttpException
