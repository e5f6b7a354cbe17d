"""`connect()` and `Client`: the entry point of the o16n Python client."""

from __future__ import annotations

import html
import json
import os
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx

from .definition import ServiceDefinition
from .environment import Environment, Skew, VersionSkewWarning, skew_text, version_skew
from .errors import AuthenticationError, InvalidInput, NotFound, O16nError
from .results import ServiceResult
from .service import Service
from .session import Session
from .transport import Transport, path

DEFAULT_URL = "http://localhost:12800"


SERVICES_MIME = "application/vnd.o16n.services+json"


class ServiceList(list[dict[str, Any]]):
    """A list of service descriptions (dicts) that shows itself as a table in notebooks."""

    COLUMNS = ("name", "version", "operationId", "inputs", "outputs", "versionPublishedBy", "creationTime", "description")

    def rows(self) -> list[dict[str, str]]:
        out = []
        for svc in self:
            lowered = {str(k).lower(): v for k, v in svc.items()}

            def params(key: str, lowered: dict[str, Any] = lowered) -> str:
                return ", ".join(f"{p.get('name')}: {p.get('type')}" for p in lowered.get(key) or [])

            out.append({
                "name": str(lowered.get("name") or ""),
                "version": str(lowered.get("version") or ""),
                "operationId": str(lowered.get("operationid") or ""),
                "inputs": params("inputparameterdefinitions"),
                "outputs": params("outputparameterdefinitions"),
                "versionPublishedBy": str(lowered.get("versionpublishedby") or ""),
                "creationTime": str(lowered.get("creationtime") or ""),
                "description": str(lowered.get("description") or ""),
            })
        return out

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.to_text())

    def to_text(self) -> str:
        rows = self.rows()
        if not rows:
            return "(no services)"
        cols = ["name", "version", "operationId", "inputs", "outputs", "versionPublishedBy"]
        widths = {c: min(40, max(len(c), *(len(r[c]) for r in rows))) for c in cols}
        def fmt(values: dict[str, str]) -> str:
            return "  ".join(values[c][: widths[c]].ljust(widths[c]) for c in cols).rstrip()
        lines = [fmt({c: c for c in cols}), "  ".join("-" * widths[c] for c in cols)]
        lines += [fmt(r) for r in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = self.rows()
        if not rows:
            return "<i>no services</i>"
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in self.COLUMNS)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{esc(r[c])}</td>" for c in self.COLUMNS) + "</tr>"
                       for r in rows)
        return f"<table class='o16n-services'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The lab extension renders the first; classic Notebook, VS Code and IPython the others.
        return {SERVICES_MIME: list(self), "text/html": self._repr_html_(), "text/plain": self.to_text()}


class Client:
    """A logged-in connection to an o16n server. Close it (or use ``with``) to revoke its token."""

    SERVER_ENVIRONMENT_SECONDS = 60.0  # how long GET /environments/server is taken as still true

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._server_env: tuple[float, dict[str, Any] | None] | None = None

    @property
    def url(self) -> str:
        return self._transport.url

    @property
    def username(self) -> str | None:
        return self._transport.username

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Revoke the refresh token this client obtained and close the connection."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        who = f" as {self.username}" if self.username else ""
        return f"<o16n Client {self.url}{who}>"

    def status(self) -> dict[str, Any]:
        """``GET /status``: the server's health (statusCode pass/warn/fail, components)."""
        return self._transport.request("GET", "/status")

    def me(self) -> dict[str, Any]:
        """``GET /users/me`` (an o16n extension): who the server takes us for: ``username``,
        ``displayName``, ``role``, ``provider`` (local, ldap, oidc), ``roleSource``, ... ."""
        answer = self._transport.request("GET", "/users/me")
        return answer if isinstance(answer, dict) else {}

    def request(self, method: str, url: str, **kw: Any) -> Any:
        """An authenticated call to any API path (``path(...)`` builds one); decoded JSON or text.

        Keyword arguments go to httpx (``json=``, ``params=``, ``content=``, ``files=``, ``headers=``,
        ``raw=True`` for the response itself). A re-iterable ``content`` is sent again after a 401.
        """
        return self._transport.request(method, url, **kw)

    # ------------------------------------------------------------ services
    def service(self, name: str) -> ServiceDefinition:
        """Start the fluent definition of a service: ``client.service('x').version('1')...deploy()``."""
        return ServiceDefinition(self, name)

    def list_services(self, name: str | None = None, version: str | None = None) -> ServiceList:
        """All services, all versions of one (oldest first), or one version."""
        if name is None:
            if version is not None:
                raise InvalidInput("list_services: a version needs a name")
            body = self._transport.request("GET", "/services")
        elif version is None:
            body = self._transport.request("GET", path("services", name))
        else:
            body = self._transport.request("GET", path("services", name, version))
        if isinstance(body, dict):
            body = [body]
        return ServiceList(body or [])

    def get_service(self, name: str, version: str | None = None) -> Service:
        """The consumable Service; the latest version (last published) when ``version`` is omitted."""
        found = self.list_services(name, version)
        if not found:
            what = f"{name} {version}" if version else name
            raise NotFound(f"service {what} not found", status=404)
        return Service(self, found[-1] if version is None else found[0])

    def delete_service(self, name: str, version: str) -> bool:
        """Delete one version of a service."""
        if not version:
            raise InvalidInput("delete_service needs a version")
        self._transport.request("DELETE", path("services", name, version))
        return True

    def post_service(self, name: str, version: str | None, body: dict[str, Any]) -> str:
        """``POST /services/{name}[/{version}]`` with a PublishWebServiceRequest; returns the version.

        Without a version the server makes one (a UUID), read from the answer's ``/api/{name}/{version}``.
        """
        where = path("services", name, version) if version else path("services", name)
        answer = self._transport.request("POST", where, json=body)
        return version or str(answer).strip().strip('"').rstrip("/").rsplit("/", 1)[-1]

    def post_realtime_service(self, name: str, version: str | None, model: bytes, *, description: str | None = None,
                              operation_id: str | None = None) -> str:
        """``POST /realtime-services/{name}[/{version}]``: the 9.1 multipart form (``model`` file,
        ``description``, ``operationId``); returns the version (the server's when none is given)."""
        where = path("realtime-services", name, version) if version else path("realtime-services", name)
        answer = self._transport.request("POST", where, files=_multipart(model, description, operation_id))
        return version or str(answer).strip().strip('"').rstrip("/").rsplit("/", 1)[-1]

    def patch_realtime_service(self, name: str, version: str, model: bytes | None = None, *,
                               description: str | None = None, operation_id: str | None = None) -> None:
        """``PATCH /realtime-services/{name}/{version}``: a new model and/or description, operation id."""
        self._transport.request("PATCH", path("realtime-services", name, version),
                                files=_multipart(model, description, operation_id))

    def patch_service(self, name: str, version: str, body: dict[str, Any]) -> None:
        """``PATCH /services/{name}/{version}``: change only the fields in ``body``."""
        self._transport.request("PATCH", path("services", name, version), json=body)

    def update_service(self, name: str, version: str, *, description: str | None = None,
                       **fields: Any) -> Service:
        """Change a published version in place (description, or any PublishWebServiceRequest field
        given by its wire name, e.g. ``operationId="score"``); returns the updated Service."""
        body = dict(fields)
        if description is not None:
            body["description"] = description
        if not body:
            raise InvalidInput("update_service: nothing to change")
        self.patch_service(name, version, body)
        return self.get_service(name, version)

    def swagger(self, name: str, version: str) -> dict[str, Any]:
        """A service's swagger 2.0 document (``GET /api/{name}/{version}/swagger.json``)."""
        doc = self._transport.request("GET", path("api", name, version, "swagger.json"))
        return json.loads(doc) if isinstance(doc, str) else doc

    def consume(self, name: str, version: str, inputs: dict[str, Any]) -> ServiceResult:
        """Run a service once with JSON-ready ``inputs``; no type decoding (see `Service` for that)."""
        started = time.perf_counter()
        answer = self._transport.request("POST", path("api", name, version), json=inputs)
        return ServiceResult(answer, name=name, version=version, elapsed=time.perf_counter() - started)

    # ------------------------------------------------------------ batch executions
    def start_batch(self, name: str, version: str, records: list[dict[str, Any]], parallel_count: int = 10) -> str:
        """``POST /api/{name}/{version}/batch?parallelCount=N``; returns the execution id."""
        body = self._transport.request("POST", path("api", name, version, "batch"),
                                       params={"parallelCount": int(parallel_count)}, json=records)
        lowered = {str(k).lower(): v for k, v in (body or {}).items()} if isinstance(body, dict) else {}
        execution_id = lowered.get("batchexecutionid")
        if not execution_id:
            raise InvalidInput("the server did not return a batchExecutionId", body=body)
        return str(execution_id)

    def batch_status(self, name: str, version: str, execution_id: str,
                     show_partial_results: bool = True) -> dict[str, Any]:
        """The BatchWebServiceResult (state, counts, results so far) as the server sends it."""
        flag = "true" if show_partial_results else "false"
        body = self._transport.request("GET", path("api", name, version, "batch", execution_id),
                                       params={"showPartialResults": flag})
        return body if isinstance(body, dict) else {}

    def cancel_batch(self, name: str, version: str, execution_id: str) -> list[str]:
        """``DELETE`` an execution: cancels what is still running and deletes its results."""
        return list(self._transport.request("DELETE", path("api", name, version, "batch", execution_id)) or [])

    def list_batch_executions(self, name: str, version: str) -> list[str]:
        return list(self._transport.request("GET", path("api", name, version, "batch")) or [])

    def batch_output_files(self, name: str, version: str, execution_id: str, index: int) -> list[str]:
        """Names of the files record ``index`` (0-based) of an execution produced."""
        return list(self._transport.request("GET", path("api", name, version, "batch", execution_id, int(index),
                                                          "files")) or [])

    def batch_output_file(self, name: str, version: str, execution_id: str, index: int, file_name: str) -> bytes:
        """The content of one file of record ``index`` (0-based)."""
        response = self._transport.request("GET", path("api", name, version, "batch", execution_id, int(index),
                                                         "files", file_name), raw=True)
        return bytes(response.content)

    # ------------------------------------------------------------ environments (o16n extension)
    def list_environments(self) -> list[dict[str, Any]]:
        """``GET /environments``: the environments the server has built (or is building)."""
        return list(self._transport.request("GET", "/environments") or [])

    def get_environment(self, key: str) -> dict[str, Any]:
        """``GET /environments/{key}``: one Environment (``state``, ``progress``, ``message``, ...)."""
        answer = self._transport.request("GET", path("environments", key))
        return answer if isinstance(answer, dict) else {}

    def delete_environment(self, key: str) -> None:
        """``DELETE /environments/{key}`` (Owner; 409 while a service or session uses it)."""
        self._transport.request("DELETE", path("environments", key))

    def server_environment(self, refresh: bool = False) -> dict[str, Any] | None:
        """``GET /environments/server``: ``{python, packages: {name: version}}`` a service without an
        environment runs with; None when the server does not say (a server without environments).
        Kept for a minute."""
        now = time.monotonic()
        if not refresh and self._server_env is not None and now - self._server_env[0] < self.SERVER_ENVIRONMENT_SECONDS:
            return self._server_env[1]
        try:
            answer = self._transport.request("GET", "/environments/server")
        except (NotFound, InvalidInput):
            answer = None
        value = answer if isinstance(answer, dict) else None
        self._server_env = (now, value)
        return value

    def start_environment(self, environment: Environment | dict[str, Any]) -> dict[str, Any]:
        """``POST /environments``: start building (202), or the ready one (200); the Environment."""
        spec = environment.spec() if isinstance(environment, Environment) else dict(environment)
        answer = self._transport.request("POST", "/environments", json=spec)
        return answer if isinstance(answer, dict) else {}

    def build_environment(self, environment: Environment | dict[str, Any], *, progress: bool = True,
                          timeout: float | None = None, poll_interval: float = 0.5) -> dict[str, Any]:
        """Have the server build an environment and wait until it is ready, showing its progress
        ("building environment: 14 packages"); returns the Environment with ``reused`` (it was
        ready already). A failed build is an InvalidInput with the resolver's message
        (``field: "environment"``); TimeoutError after ``timeout`` seconds."""
        answer = self.start_environment(environment)
        reused = answer.get("state") == "ready"
        key = str(answer.get("key") or "")
        label = f"environment {key[:16]}"
        bar = _progress_bar(label, progress and not reused)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while answer.get("state") == "building":
                if bar is not None:
                    bar.set_description_str(f"{label}: {answer.get('progress') or 'building'}", refresh=True)
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"environment {key[:16]} still building after {timeout} s "
                                       f"({answer.get('progress') or 'no progress reported'})")
                time.sleep(poll_interval)
                answer = self.get_environment(key)
            if answer.get("state") != "ready":
                raise InvalidInput(str(answer.get("message") or f"the environment {key[:16]} could not be built"),
                                   field="environment", body=answer)
            if bar is not None:
                seconds = answer.get("buildSeconds")
                done = f"ready in {seconds:.1f} s" if isinstance(seconds, (int, float)) else "ready"
                bar.set_description_str(f"{label}: {done}", refresh=True)
        finally:
            if bar is not None:
                bar.close()
        return {**answer, "reused": reused}

    def version_skew(self, environment: Environment) -> list[Skew] | None:
        """Packages of ``environment`` (the ones its objects and code use directly) whose version on
        the server (its own environment) differs; None when the server does not say."""
        server = self.server_environment()
        if server is None:
            return None
        return version_skew(environment, server.get("packages") or {})

    # ------------------------------------------------------------ publishing
    def _publish_realtime(self, definition: ServiceDefinition, *, update: bool) -> Service:
        """``POST /realtime-services/{name}[/{version}]`` (or PATCH) with the 9.1 multipart form."""
        data = definition.model_bytes()
        assert data is not None
        version = definition._version
        if update and version is None:
            version = self.get_service(definition.name).version
        if update:
            assert version is not None
            self.patch_realtime_service(definition.name, version, data, description=definition._description,
                                        operation_id=definition.operation_id())
        else:
            version = self.post_realtime_service(definition.name, version, data, description=definition._description,
                                                 operation_id=definition.operation_id())
        meta = self.list_services(definition.name, version)
        if not meta:
            raise NotFound(f"service {definition.name} was published but cannot be read back", status=404)
        return Service(self, meta[0])

    def _publish(self, definition: ServiceDefinition, *, update: bool) -> Service:
        body = definition.request_body(partial=update)
        version = definition._version
        if update and version is None:
            version = self.get_service(definition.name).version
        blobs = definition.object_blobs()
        environment = definition.resolved_environment()
        built: dict[str, Any] | None = None
        if environment is not None:
            built = self.build_environment(environment)
            body["environment"] = environment.spec()
        session: Session | None = None
        snapshot_id: str | None = None
        try:
            if blobs:  # the objects load where the service will run: in its environment
                session = self.create_session(environment=body.get("environment"))
                for name, data in blobs.items():
                    try:
                        session.upload_object(name, data)
                    except InvalidInput as exc:
                        raise self._missing_package(exc, definition, environment) from None
                snapshot_id = session.snapshot()
                body["snapshotId"] = snapshot_id
            if update:
                assert version is not None
                self.patch_service(definition.name, version, body)
            else:
                self.post_service(definition.name, version, body)
        finally:
            # The service keeps its own copy of the snapshot: drop the session and our snapshot.
            if session is not None:
                try:
                    session.close()
                except O16nError:
                    pass
            if snapshot_id is not None:
                try:
                    self.delete_snapshot(snapshot_id)
                except O16nError:
                    pass
        meta = self.list_services(definition.name, version) if version else self.list_services(definition.name)
        if not meta:
            raise NotFound(f"service {definition.name} was published but cannot be read back", status=404)
        service = Service(self, meta[-1] if version is None else meta[0],
                          input_types=definition.resolved_inputs(), output_types=definition.resolved_outputs())
        service.built_environment = built
        if environment is None and not update:
            service.version_skew = self._skew_of(definition)
            if service.version_skew:
                warnings.warn(f"{service.name} {service.version}: {skew_text(service.version_skew)}",
                              VersionSkewWarning, stacklevel=3)
        else:
            service.version_skew = []
        return service

    def _missing_package(self, exc: InvalidInput, definition: ServiceDefinition,
                         environment: Environment | None) -> InvalidInput:
        """An object the server's own environment cannot load: say which pin would bring its package."""
        missing = re.search(r"No module named '([A-Za-z0-9_.]+)'", exc.message)
        if missing is None or environment is not None:
            return exc
        top = missing.group(1).split(".", 1)[0]
        pins = [p.requirement for p in definition.captured_environment().packages
                if p.direct and p.reason.startswith(f"provides {top} ")]
        return InvalidInput(f"{exc.message}: the server's own environment lacks it; publish with .environment()"
                            + (f" (this kernel has {', '.join(pins)})" if pins else ""),
                            status=exc.status, field="environment", body=exc.body)

    def _skew_of(self, definition: ServiceDefinition) -> list[Skew] | None:
        try:
            captured = definition.captured_environment()
            if not any(p.direct for p in captured.packages):
                return []  # plain data and no imports: nothing to compare, no request
            return self.version_skew(captured)
        except O16nError:
            return None  # the service is published; the server could not say what it has

    # ------------------------------------------------------------ sessions and snapshots
    def create_session(self, name: str | None = None, snapshot_id: str | None = None,
                       environment: Environment | dict[str, Any] | None = None) -> Session:
        """Open a Python session on the server (``POST /sessions``); ``environment`` (o16n extension):
        run it in that environment (built first if need be) instead of the server's own."""
        body: dict[str, Any] = {"runtimeType": "Python"}
        if name:
            body["name"] = name
        if snapshot_id:
            body["snapshotId"] = snapshot_id
        if environment is not None:
            body["environment"] = environment.spec() if isinstance(environment, Environment) else dict(environment)
        answer = self._transport.request("POST", "/sessions", json=body)
        lowered = {str(k).lower(): v for k, v in (answer or {}).items()} if isinstance(answer, dict) else {}
        session_id = lowered.get("sessionid")
        if not session_id:
            raise O16nError(f"the server did not return a sessionId: {answer!r}")
        return Session(self, session_id, name)

    def session(self, session_id: str) -> Session:
        """A handle on an existing session of yours (no request is sent)."""
        return Session(self, session_id)

    def delete_session(self, session_id: str, force: bool = False) -> None:
        """Close a session by id (``DELETE /sessions/{id}[/force]``)."""
        self._transport.request("DELETE", path("sessions", session_id, "force") if force else path("sessions", session_id))

    def list_sessions(self) -> list[dict[str, Any]]:
        return list(self._transport.request("GET", "/sessions") or [])

    def list_snapshots(self) -> list[dict[str, Any]]:
        return list(self._transport.request("GET", "/snapshots") or [])

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._transport.request("DELETE", path("snapshots", snapshot_id))

    def download_snapshot(self, snapshot_id: str) -> bytes:
        """The snapshot's zip content."""
        return self._transport.request("GET", path("snapshots", snapshot_id), raw=True).content


def _multipart(model: bytes | None, description: str | None, operation_id: str | None) -> dict[str, Any]:
    """The 9.1 realtime form as multipart/form-data, also without a model: a part without a file
    name is a plain field (httpx would send fields alone urlencoded, which 9.1 does not declare)."""
    parts: dict[str, Any] = {k: (None, v) for k, v in (("description", description), ("operationId", operation_id))
                             if v is not None}
    if model is not None:
        parts["model"] = ("model.onnx", model, "application/octet-stream")
    return parts


def _progress_bar(description: str, show: bool) -> Any:
    """A tqdm bar without a total (notebook widget or terminal), or None."""
    if not show:
        return None
    try:
        with warnings.catch_warnings():  # no "IProgress not found" noise without ipywidgets
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
        return tqdm(total=None, desc=description, bar_format="{desc} [{elapsed}]")
    except ImportError:  # pragma: no cover
        return None


def _read_credentials_file(file: str) -> dict[str, Any]:
    try:
        with open(file, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise AuthenticationError(f"cannot read O16N_CREDENTIALS_FILE {file}: {exc.strerror}") from None
    except ValueError as exc:
        raise AuthenticationError(f"O16N_CREDENTIALS_FILE {file} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise AuthenticationError(f"O16N_CREDENTIALS_FILE {file} must hold a JSON object")
    return data


def _file_refresh_source(file: str) -> Callable[[], str | None]:
    def read() -> str | None:
        try:
            return _read_credentials_file(file).get("refresh_token")
        except AuthenticationError:
            return None
    return read


def _file_token_source(file: str) -> Callable[[], dict[str, Any] | None]:
    def read() -> dict[str, Any] | None:
        try:
            return _read_credentials_file(file)
        except AuthenticationError:
            return None  # being rewritten or removed: the caller decides what that means
    return read


def connect(url: str | None = None, username: str | None = None, password: str | None = None,
            token: str | None = None, *, refresh_token: str | None = None,
            token_provider: Callable[[], object] | None = None, timeout: float = 300.0,
            revoke_on_close: bool | None = None, verify: bool = True,
            transport: httpx.BaseTransport | None = None) -> Client:
    """Log in to an o16n server and return a Client.

    Where credentials come from, first match wins:

    1. arguments: ``token_provider`` (a callable returning a bearer token from an identity provider:
       a str, ``(token, expires_on)`` or ``{"access_token", "expires_in"}``; asked again when the
       token nears expiry and once after a 401; see `o16n.client.tokens`), ``token`` (an access
       token used as is), ``refresh_token``, or ``username`` + ``password``;
    2. the JSON file named by ``O16N_CREDENTIALS_FILE``: ``{"url", "access_token", "expires_on"}``
       as the Jupyter extension hands it to kernels (the file is read again when the token is
       about to expire or is refused: the extension rewrites it), or ``{"url", "refresh_token"}``
       or ``{"url", "username", "password"}``;
    3. the environment: ``O16N_USER`` and ``O16N_PASSWORD``.

    The URL is the argument, else the credentials file's ``url`` (when the file was used), else
    ``O16N_URL``, else ``http://localhost:12800``. A refresh token from the file belongs to whoever
    wrote the file, so ``close()`` does not revoke it (pass ``revoke_on_close=True`` to force).
    """
    env = os.environ
    file_data: dict[str, Any] = {}
    refresh_source: Callable[[], str | None] | None = None
    token_source: Callable[[], dict[str, Any] | None] | None = None
    if token_provider is not None:
        if token is not None or refresh_token is not None or password is not None:
            raise InvalidInput("connect: give token_provider alone, without token, refresh_token or password")
        return _connect_with_provider(url or env.get("O16N_URL") or DEFAULT_URL, token_provider, timeout=timeout,
                                      verify=verify, transport=transport)
    explicit = token is not None or refresh_token is not None or (username is not None and password is not None)
    cred_file = env.get("O16N_CREDENTIALS_FILE")
    if not explicit and cred_file:
        file_data = _read_credentials_file(cred_file)
        if file_data.get("refresh_token"):
            refresh_token = file_data["refresh_token"]
            refresh_source = _file_refresh_source(cred_file)  # the extension may rotate it
        elif file_data.get("access_token"):
            token = file_data["access_token"]
            token_source = _file_token_source(cred_file)  # the extension rewrites it before expiry
        else:
            username = file_data.get("username", username)
            password = file_data.get("password", password)
    if not explicit and not file_data:
        username = username if username is not None else env.get("O16N_USER")
        password = password if password is not None else env.get("O16N_PASSWORD")
    # a credentials file names the server its token belongs to, so its url beats O16N_URL
    base = url or file_data.get("url") or env.get("O16N_URL") or DEFAULT_URL
    if "://" not in base:
        base = "http://" + base
    if token is None and refresh_token is None and (username is None or password is None):
        missing = "password" if username else "user name and password"
        raise AuthenticationError(f"no {missing} for {base}: pass them to connect(), or set O16N_USER and "
                                  "O16N_PASSWORD (or O16N_CREDENTIALS_FILE)")
    t = Transport(base, username=username, password=password, token=token, refresh_token=refresh_token,
                  refresh_source=refresh_source, token_source=token_source, revoke_on_close=revoke_on_close,
                  timeout=timeout, transport=transport, verify=verify)
    if token_source is not None:
        t._take_tokens({"access_token": token, "expires_on": file_data.get("expires_on")})
    try:
        if token is None:
            if refresh_token is not None:
                t.renew()
            else:
                t.login()
    except BaseException:
        t.http.close()
        raise
    return Client(t)


def _connect_with_provider(url: str, token_provider: Callable[[], object], *, timeout: float, verify: bool,
                           transport: httpx.BaseTransport | None) -> Client:
    """A client whose bearer tokens come from ``token_provider``; asks it once now, so a provider
    that cannot give a token fails here rather than at the first call."""
    base = url if "://" in url else "http://" + url
    t = Transport(base, token_provider=token_provider, revoke_on_close=False, timeout=timeout,
                  transport=transport, verify=verify)
    try:
        t.renew()
    except BaseException:
        t.http.close()
        raise
    return Client(t)
