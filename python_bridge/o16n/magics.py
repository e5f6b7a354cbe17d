"""IPython magics for o16n: ``%load_ext o16n``.

Line magics (``%o16n SUBCOMMAND ...``)::

    %o16n login [URL] [--user NAME]        log in (password from O16N_PASSWORD or a prompt)
    %o16n login [URL] --token-command "CMD" [--shell]
                                           bearer tokens from a command (its stdout: the token, or
                                           JSON with access_token and expires_in), run again when
                                           the token nears expiry or is refused
    %o16n logout                           revoke the token and forget the connection
    %o16n status                           who and where you are connected, server health
    %o16n services [NAME]                  table of services (all, or all versions of NAME)
    %o16n consume NAME [VERSION] --a 1 --b "[1, 2]"
                                           call a service (latest version when omitted);
                                           values are JSON, else strings; @var takes a variable
    %o16n swagger NAME VERSION             the service's swagger document
    %o16n delete NAME VERSION              delete one version
    %o16n batch NAME VERSION --from df [--parallel 10]
                                           run a batch over a DataFrame, with a progress bar
    %o16n environment [OBJECTS] [--pin P==V,...] [--unpin NAME,...]
                                           the packages a service with these objects needs,
                                           pinned at this kernel's versions (what --environment
                                           publishes with)
    %o16n environments                     the environments the server has built
    %o16n publish-model NAME [--version V] --model clf [--sample X] [--description TEXT]
                        [--alias OPERATION] [--update]
                                           publish a realtime service: the model alone (ONNX;
                                           a fitted scikit-learn estimator is converted with
                                           skl2onnx, its inputs from the sample frame/array),
                                           consumed with inputData -> outputData

Cell magic (the cell body is the service code)::

    %%o16n publish NAME [--version V] [--description TEXT] --inputs a:float,b:vector
                       --outputs y:str [--objects clf,names] [--output-files out.png]
                       [--alias OPERATION] [--init-cell] [--update]
                       [--environment [--pin P==V,...] [--unpin NAME,...] [--python X.Y]]

With ``--init-cell`` the cell holds two blocks separated by a line ``# --- code ---``: the lines
above it are the init code (run once when a worker loads the service), the lines below it are the
code run for every call. ``--update`` patches an existing version instead of publishing a new one.
``--objects`` names kernel objects shipped with the service; ``--output-files`` names the files
the code writes that callers get back (``--models`` and ``--artifacts`` are their old names).
``--environment`` pins what the objects and the cell's imports need at this kernel's versions (the
server builds that environment once, with progress, then publishes with it); ``--pin`` adds or
overrides packages (and implies ``--environment``), ``--unpin`` drops some. Without it the service
runs in the server's own environment (``--no-environment`` says so explicitly), and the magic names
the packages whose versions differ between this kernel and the server.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
import warnings
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from .client import Client, NotFound, O16nError, ServiceFailed, TokenCommand, capture, connect
from .client.client import ServiceList
from .client.encoding import ParamType, param_type
from .client.environment import Environment, VersionSkewWarning, skew_text
from .client.results import BatchResult, ServiceResult

CODE_MARKER = "# --- code ---"

USAGE = """usage:
  %o16n login [URL] [--user NAME] | login [URL] --token-command "CMD" [--shell] | logout | status
  %o16n services [NAME]
  %o16n consume NAME [VERSION] [--input value ...]
  %o16n swagger NAME VERSION | delete NAME VERSION
  %o16n batch NAME VERSION --from DATAFRAME [--parallel N]
  %o16n environment [OBJECTS] [--pin P==V,...] [--unpin NAME,...] | environments
  %o16n publish-model NAME [--version V] --model VAR [--sample VAR] [--description TEXT] [--alias OP] [--update]
  %%o16n publish NAME [--version V] [--description TEXT] [--inputs a:float,...] [--outputs y:str,...]
                      [--objects clf,names] [--output-files out.png] [--alias OP] [--init-cell] [--update]
                      [--environment | --no-environment] [--pin P==V,...] [--unpin NAME,...] [--python X.Y]"""


class SwaggerDocument(dict):
    """A service's swagger document that the lab extension renders as a browsable API."""

    MIME = "application/vnd.o16n.swagger+json"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {self.MIME: dict(self), "application/json": dict(self), "text/plain": json.dumps(self, indent=1)}


class MagicError(Exception):
    """A usage mistake; shown as one line."""


PROVIDERS = {"local": "local user", "ldap": "LDAP", "oidc": "OpenID Connect"}


def who(client: Client, me: dict[str, Any] | None = None) -> str:
    """`` as NAME (ROLE, PROVIDER)`` from GET /users/me; the login name alone where that is missing."""
    if me is None:
        try:
            me = client.me()
        except O16nError:
            me = {}
    name = me.get("username") or client.username
    if not name:
        return ""
    details = ", ".join(str(d) for d in (me.get("role"), PROVIDERS.get(str(me.get("provider")), me.get("provider"))) if d)
    return f" as {name}" + (f" ({details})" if details else "")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise MagicError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            raise MagicError(message.strip())
        raise _Quiet()


class _Quiet(Exception):
    """--help was printed; nothing else to do."""


def parse_params(spec: str | None) -> dict[str, ParamType]:
    """``"a:float,b:vector"`` -> ordered {name: ParamType}."""
    out: dict[str, ParamType] = {}
    if not spec:
        return out
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" not in part:
            raise MagicError(f"parameter {part!r} needs a type: NAME:TYPE (e.g. {part}:float)")
        name, kind = (s.strip() for s in part.split(":", 1))
        if not name.isidentifier():
            raise MagicError(f"parameter name {name!r} is not a Python identifier")
        try:
            out[name] = param_type(kind)
        except ValueError as exc:
            raise MagicError(f"parameter {name}: {exc}") from None
    return out


def split_cell(cell: str, init_cell: bool) -> tuple[str | None, str]:
    """(init code, code) of a publish cell; see the module docstring for the convention."""
    if not init_cell:
        return None, cell
    lines = cell.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == CODE_MARKER:
            init = "".join(lines[:i]).strip("\n")
            code = "".join(lines[i + 1:]).strip("\n")
            if not code.strip():
                raise MagicError(f"--init-cell: there is no code below the '{CODE_MARKER}' line")
            return (init + "\n" if init.strip() else None), code + "\n"
    raise MagicError(f"--init-cell: put a line '{CODE_MARKER}' between the init code and the service code")


def parse_value(text: str, namespace: dict[str, Any] | None = None) -> Any:
    """A consume value: ``@var`` -> the variable, JSON when it parses, else the string itself."""
    if text.startswith("@") and text[1:].isidentifier():
        if namespace is None or text[1:] not in namespace:
            raise MagicError(f"no variable named {text[1:]!r}")
        return namespace[text[1:]]
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_consume(tokens: list[str], namespace: dict[str, Any] | None = None) -> tuple[str, str | None, dict[str, Any]]:
    """``NAME [VERSION] --a 1 --b x`` -> (name, version, inputs)."""
    positional: list[str] = []
    inputs: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and len(tok) > 2:
            key = tok[2:]
            if "=" in key:
                key, raw = key.split("=", 1)
                i += 1
            else:
                if i + 1 >= len(tokens):
                    raise MagicError(f"input --{key} has no value")
                raw = tokens[i + 1]
                i += 2
            if not key.isidentifier():
                raise MagicError(f"--{key} is not a valid input name")
            if key in inputs:
                raise MagicError(f"input --{key} given twice")
            inputs[key] = parse_value(raw, namespace)
            continue
        if inputs:
            raise MagicError(f"unexpected {tok!r} after the inputs; quote values that contain spaces")
        positional.append(tok)
        i += 1
    if not positional:
        raise MagicError("consume: which service? %o16n consume NAME [VERSION] --input value ...")
    if len(positional) > 2:
        raise MagicError(f"consume: expected NAME [VERSION], got {' '.join(positional)}")
    return positional[0], (positional[1] if len(positional) > 1 else None), inputs


@magics_class
class O16nMagics(Magics):
    """``%o16n`` / ``%%o16n``: publish, consume and manage o16n web services from a notebook."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.client: Client | None = None

    # ------------------------------------------------------------ plumbing
    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def _client(self) -> Client:
        if self.client is None:
            try:
                self.client = connect()
            except O16nError as exc:
                raise MagicError(f"not logged in ({exc}); run %o16n login [URL] --user NAME") from None
        return self.client

    @staticmethod
    def _fail(message: str) -> None:
        print(f"o16n: {message}", file=sys.stderr)

    @line_cell_magic
    def o16n(self, line: str, cell: str | None = None) -> Any:
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            self._fail(f"cannot parse the line: {exc}")
            return None
        if not tokens or tokens[0] in ("-h", "--help", "help"):
            print(USAGE)
            return None
        command, args = tokens[0], tokens[1:]
        handler = getattr(self, f"_cmd_{command.replace('-', '_')}", None) if command.isidentifier() or \
            command.replace("-", "_").isidentifier() else None
        if handler is None:
            self._fail(f"unknown command {command!r}\n{USAGE}")
            return None
        if command == "publish" and cell is None:
            self._fail("publish is a cell magic: put %%o16n publish NAME ... on the first line of the cell")
            return None
        if command != "publish" and cell is not None:
            self._fail(f"{command} is a line magic: use %o16n {command} ...")
            return None
        try:
            return handler(args, cell) if command == "publish" else handler(args)
        except _Quiet:
            return None
        except (MagicError, O16nError, ServiceFailed, ValueError, TypeError, KeyError, TimeoutError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            self._fail(str(message))
            return None

    # ------------------------------------------------------------ commands
    def _cmd_login(self, args: list[str]) -> None:
        p = _Parser(prog="%o16n login", add_help=True)
        p.add_argument("url", nargs="?")
        p.add_argument("--user", "-u")
        p.add_argument("--token-command", help="prints a bearer token, or JSON with access_token and expires_in")
        p.add_argument("--shell", action="store_true", help="run --token-command through the shell")
        ns = p.parse_args(args)
        if ns.token_command is not None:
            self._login_with_command(ns.url, ns.token_command, ns.user, ns.shell)
            return
        if ns.shell:
            raise MagicError("--shell goes with --token-command")
        username = ns.user or os.environ.get("O16N_USER")
        password = os.environ.get("O16N_PASSWORD") if username else None
        has_file = bool(os.environ.get("O16N_CREDENTIALS_FILE"))
        if username is None and not has_file:
            username = input("o16n user: ").strip()
        if username and password is None:
            password = getpass.getpass(f"o16n password for {username}: ")
        self._use(connect(ns.url, username, password))  # keep the old connection if this fails

    def _login_with_command(self, url: str | None, command: str, user: str | None, shell: bool) -> None:
        if user:
            raise MagicError("give --user or --token-command, not both")
        try:
            provider = TokenCommand(command, shell=shell)
        except ValueError as exc:
            raise MagicError(f"--token-command: {exc}") from None
        self._use(connect(url, token_provider=provider))

    def _use(self, fresh: Client) -> None:
        try:  # a token the server refuses (or that maps to no role) fails the login, not the next command
            me = fresh.me()
        except NotFound:
            me = {}  # a server without /users/me
        except BaseException:
            fresh.close()
            raise
        if self.client is not None:
            self.client.close()
        self.client = fresh
        print(f"o16n: logged in to {fresh.url}{who(fresh, me)}")

    def _cmd_logout(self, args: list[str]) -> None:
        if self.client is None:
            print("o16n: not logged in")
            return
        url = self.client.url
        self.client.close()
        self.client = None
        print(f"o16n: logged out of {url}")

    def _cmd_status(self, args: list[str]) -> dict[str, Any] | None:
        client = self._client()
        status = client.status() or {}
        code = status.get("statusCode", "?") if isinstance(status, dict) else status
        print(f"o16n: connected to {client.url}{who(client)}; server status: {code}")
        return None

    def _cmd_services(self, args: list[str]) -> ServiceList:
        p = _Parser(prog="%o16n services")
        p.add_argument("name", nargs="?")
        p.add_argument("version", nargs="?")
        ns = p.parse_args(args)
        return self._client().list_services(ns.name, ns.version)

    def _cmd_consume(self, args: list[str]) -> ServiceResult:
        name, version, inputs = parse_consume(args, self.user_ns)
        service = self._client().get_service(name, version)
        return service.consume(**inputs)

    def _cmd_swagger(self, args: list[str]) -> dict[str, Any]:
        p = _Parser(prog="%o16n swagger")
        p.add_argument("name")
        p.add_argument("version", nargs="?")
        ns = p.parse_args(args)
        return SwaggerDocument(self._client().get_service(ns.name, ns.version).swagger())

    def _cmd_delete(self, args: list[str]) -> None:
        p = _Parser(prog="%o16n delete")
        p.add_argument("name")
        p.add_argument("version")
        ns = p.parse_args(args)
        self._client().delete_service(ns.name, ns.version)
        print(f"o16n: deleted {ns.name} {ns.version}")

    def _cmd_batch(self, args: list[str]) -> BatchResult:
        p = _Parser(prog="%o16n batch")
        p.add_argument("name")
        p.add_argument("version", nargs="?")
        p.add_argument("--from", dest="source", required=True, help="variable holding the records")
        p.add_argument("--parallel", type=int, default=10)
        p.add_argument("--timeout", type=float, default=None)
        ns = p.parse_args(args)
        if ns.source not in self.user_ns:
            raise MagicError(f"no variable named {ns.source!r}")
        service = self._client().get_service(ns.name, ns.version)
        batch = service.batch(self.user_ns[ns.source], parallel_count=ns.parallel).start()
        return batch.wait(timeout=ns.timeout)

    def _cmd_publish(self, args: list[str], cell: str) -> None:
        p = _Parser(prog="%%o16n publish")
        p.add_argument("name")
        p.add_argument("--version", "-v")
        p.add_argument("--description", "-d")
        p.add_argument("--inputs", "-i", default="")
        p.add_argument("--outputs", "-o", default="")
        p.add_argument("--objects", "--models", default="")
        p.add_argument("--output-files", "--artifacts", dest="output_files", default="",
                       help="files the code writes that callers get back (--artifacts: the old name)")
        p.add_argument("--alias")
        p.add_argument("--init-cell", action="store_true")
        p.add_argument("--update", action="store_true", help="patch an existing version")
        p.add_argument("--environment", "-e", action="store_true",
                       help="pin the packages the objects and code need at this kernel's versions")
        p.add_argument("--no-environment", action="store_true", help="run in the server's own environment")
        p.add_argument("--pin", default="", help="packages to add or override, comma separated (P==V)")
        p.add_argument("--unpin", default="", help="packages to drop, comma separated")
        p.add_argument("--python", help="X.Y (default: this kernel's)")
        ns = p.parse_args(args)
        for old, new in (("--models", "--objects"), ("--artifacts", "--output-files")):
            if any(a == old or a.startswith(old + "=") for a in args):
                print(f"o16n: {old} is deprecated; use {new}", file=sys.stderr)
        init, code = split_cell(cell, ns.init_cell)
        if not code.strip():
            raise MagicError("the cell is empty: write the service code below %%o16n publish")
        definition = self._client().service(ns.name).code_str(code, init=init)
        if ns.version:
            definition.version(ns.version)
        if ns.description is not None:
            definition.description(ns.description)
        if ns.alias:
            definition.alias(ns.alias)
        if ns.inputs or not ns.update:
            definition.inputs(**parse_params(ns.inputs))
        if ns.outputs or not ns.update:
            definition.outputs(**parse_params(ns.outputs))
        if ns.output_files:
            definition.output_files([a.strip() for a in ns.output_files.split(",") if a.strip()])
        names = [n.strip() for n in ns.objects.split(",") if n.strip()]
        if names:
            taken = capture(self.user_ns, names, environment=False)
            if taken.failed:
                why = "; ".join(f"{k}: {v}" for k, v in taken.failed.items())
                raise MagicError(f"cannot publish these objects: {why}")
            definition.objects(**taken.objects)
        pins, unpins = _split(ns.pin), _split(ns.unpin)
        if ns.environment and ns.no_environment:
            raise MagicError("give --environment or --no-environment, not both")
        if ns.no_environment and (pins or unpins or ns.python):
            raise MagicError("--pin, --unpin and --python go with an environment, not --no-environment")
        if ns.environment or pins or unpins or ns.python:
            definition.environment(add=pins, remove=unpins, python=ns.python)
            environment = definition.resolved_environment()
            assert environment is not None
            print(f"o16n: {environment.to_text()}")
        with warnings.catch_warnings():  # the skew is printed below, as text
            warnings.simplefilter("ignore", VersionSkewWarning)
            service = definition.redeploy() if ns.update else definition.deploy()
        ins = ", ".join(f"{n}: {t.wire}" for n, t in service.inputs.items())
        outs = ", ".join(f"{n}: {t.wire}" for n, t in service.outputs.items())
        verb = "updated" if ns.update else "published"
        print(f"o16n: {verb} {service.name} {service.version}: POST {self._client().url}{service.api} "
              f"({ins}) -> ({outs})")
        built = service.built_environment
        if built:
            how = "reused" if built.get("reused") else "built"
            print(f"o16n: environment {str(built.get('key', ''))[:16]} ({how}): "
                  f"python {built.get('python')}, {len(built.get('packages') or [])} package(s)")
        elif service.version_skew:
            print("o16n: version skew: " + skew_text(service.version_skew), file=sys.stderr)

    def _cmd_environment(self, args: list[str]) -> Environment:
        p = _Parser(prog="%o16n environment")
        p.add_argument("objects", nargs="?", default="", help="kernel objects, comma separated")
        p.add_argument("--pin", default="")
        p.add_argument("--unpin", default="")
        p.add_argument("--python")
        ns = p.parse_args(args)
        names = _split(ns.objects)
        taken = capture(self.user_ns, names) if names else None
        if taken is not None and taken.failed:
            why = "; ".join(f"{k}: {v}" for k, v in taken.failed.items())
            raise MagicError(f"cannot take these objects: {why}")
        environment = taken.environment if taken is not None and taken.environment is not None else \
            Environment.capture({})
        if _split(ns.unpin):
            environment = environment.remove(*_split(ns.unpin))
        if _split(ns.pin):
            environment = environment.add(*_split(ns.pin))
        if ns.python:
            environment = environment.with_python(ns.python)
        return environment

    def _cmd_environments(self, args: list[str]) -> EnvironmentList:
        _Parser(prog="%o16n environments").parse_args(args)
        return EnvironmentList(self._client().list_environments())

    def _cmd_publish_model(self, args: list[str]) -> None:
        p = _Parser(prog="%o16n publish-model")
        p.add_argument("name")
        p.add_argument("--version", "-v")
        p.add_argument("--model", "-m", required=True, help="kernel variable: a fitted estimator, ONNX bytes or ModelProto")
        p.add_argument("--sample", "-s", help="kernel variable: a frame or array whose columns give the inputs")
        p.add_argument("--description", "-d")
        p.add_argument("--alias")
        p.add_argument("--update", action="store_true", help="replace the model of an existing version")
        ns = p.parse_args(args)
        for var in (ns.model, ns.sample):
            if var is not None and var not in self.user_ns:
                raise MagicError(f"no variable named {var!r}")
        definition = self._client().service(ns.name)
        if ns.version:
            definition.version(ns.version)
        if ns.description is not None:
            definition.description(ns.description)
        if ns.alias:
            definition.alias(ns.alias)
        definition.realtime(self.user_ns[ns.model], self.user_ns[ns.sample] if ns.sample else None)
        info = definition.model_info or {}
        from .jupyter.inkernel.onnxmodel import summary
        service = definition.redeploy() if ns.update else definition.deploy()
        verb = "updated" if ns.update else "published"
        outputs = ", ".join(str(o.get("name")) for o in info.get("outputs") or [])
        print(f"o16n: {verb} realtime {service.name} {service.version} ({summary(info) if info else 'onnx'}"
              f"{'; outputs ' + outputs if outputs else ''}): POST {self._client().url}{service.api} "
              "with {\"inputData\": {column: [values]}}")


class EnvironmentList(list[dict[str, Any]]):
    """The server's environments, shown as a table."""

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.to_text())

    def to_text(self) -> str:
        if not self:
            return "(no environments)"
        lines = []
        for env in self:
            size = env.get("sizeBytes")
            services = ", ".join(f"{s.get('name')} {s.get('version')}" for s in env.get("services") or [])
            lines.append(f"{str(env.get('key', ''))[:16]}  python {env.get('python')}  "
                         f"{len(env.get('packages') or [])} package(s)  {env.get('state')}"
                         f"{f'  {size / 1e6:.0f} MB' if isinstance(size, (int, float)) else ''}"
                         f"{f'  used by {services}' if services else ''}")
        return "\n".join(lines)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext o16n``: register the %o16n / %%o16n magics."""
    ipython.register_magics(O16nMagics)


def unload_ipython_extension(ipython: Any) -> None:  # pragma: no cover - nothing to clean up
    pass
