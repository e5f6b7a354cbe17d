"""The /o16n/ routes (docs/jupyter-api.md). Every handler is behind Jupyter's authentication and
authorization (resource "o16n"; the kernel routes also need "execute" on "kernels"); APIHandler
enforces XSRF for cookie-authenticated requests. The relay only ever calls the configured o16n
server, through `o16n.client` methods: no URL comes from the request, no path is built here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from o16n.client import O16nError
from o16n.client.environment import normalize

from .bodies import AnalyzeRequest, Body, KernelTestRequest, PublishRequest
from .errors import RelayError, relay_error
from .functions import function_info
from .kernels import private_dir, remove_dir, run_in_kernel

NAME = r"(?P<name>[^/]+)"
LOGIN_METHODS = ("password", "device", "client_credentials")
VERSION = r"(?P<version>[^/]+)"
Method = Callable[..., Awaitable[None]]


def check_segment(value: str | None, field: str) -> None:
    """A name that becomes one segment of an o16n API path: no dot segments, no control characters.

    Segments are percent-encoded, but ``.``/``..`` would still be resolved as paths by HTTP clients.
    """
    if value is not None and (value in (".", "..") or any(ord(c) < 32 for c in value)):
        raise RelayError(400, f"'{field}' is not a valid name", field)


def answers(method: Method) -> Method:
    """Turn every failure into ``{"message", "field", "step"}`` with its status (`errors.relay_error`)."""
    @functools.wraps(method)
    async def wrapper(self: O16nHandler, *args: Any, **kwargs: Any) -> None:
        try:
            for field, value in kwargs.items():
                check_segment(value, field)
            await method(self, *args, **kwargs)
        except web.HTTPError:
            raise
        except Exception as exc:  # one mapping for every handler
            error = relay_error(exc, self.connection.url)
            self.reply(error.to_json(), error.status)
    return wrapper


class O16nHandler(APIHandler):
    auth_resource = "o16n"

    @property
    def o16n(self) -> Any:
        return self.settings["o16n"]  # the extension app (ExtensionApp puts itself there)

    @property
    def connection(self) -> Any:
        return self.o16n.connection

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def body(self) -> Any:
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError:
            raise RelayError(400, "the body is not valid JSON", "body") from None

    async def call(self, fn: Callable[..., Any], *args: Any, where: str = "publish") -> Any:
        """A blocking client call on the logged-in client, in the thread pool."""
        client = await self.connection.require_client()
        return await self.connection.run(fn, client, *args, where=where)

    async def check_kernel_access(self) -> None:
        # Reading, analyzing or serializing a kernel's objects is running code in it.
        if not await _ensure(self.authorizer.is_authorized(self, self.current_user, "execute", "kernels")):
            raise web.HTTPError(403, "not authorized to execute code in kernels")

    async def in_kernel(self, kernel_id: str, request: dict[str, Any], run_timeout: float = 120) -> dict[str, Any]:
        await self.check_kernel_access()
        workdir = private_dir(self.o16n.capture_dir or None, "o16n-kernel-")
        try:
            return await run_in_kernel(self.o16n.serverapp.kernel_manager, kernel_id, request, workdir,
                                       timeout=self.o16n.kernel_timeout, run_timeout=run_timeout)
        finally:
            remove_dir(workdir)


async def _ensure(value: Any) -> Any:
    return await value if hasattr(value, "__await__") else value


# ---------------------------------------------------------------- connection
class StatusHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self) -> None:
        self.reply(await self.connection.status())


class LoginHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self) -> None:
        body = Body(self.body())
        connection = self.connection
        method = body.raw.get("method", "password")
        if method not in LOGIN_METHODS:
            raise RelayError(400, f"'method' must be one of {', '.join(LOGIN_METHODS)}", "method")
        if method == "device":  # answers at once: the status carries the prompt while the relay polls
            await connection.start_device_login()
            self.reply(await connection.status())
            return
        if method == "client_credentials":
            await connection.login_with_client_credentials()
            self.reply(await connection.status())
            return
        if connection.mode == "embedded" and not body.raw.get("username"):
            await connection.login_as_admin()
            self.reply(await connection.status())
            return
        username = body.text("username", required=True) or ""
        password = body.text("password", required=True) or ""
        await connection.login(username, password)
        self.reply(await connection.status())


class LogoutHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self) -> None:
        await self.connection.logout()
        self.reply(await self.connection.status())


# ---------------------------------------------------------------- services
class ServicesHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self) -> None:
        name = self.get_query_argument("name", None) or None
        services = await self.call(lambda c: c.list_services(name))
        self.reply(list(services))


class ServiceHandler(O16nHandler):
    async def _one(self, name: str, version: str) -> dict[str, Any]:
        found = await self.call(lambda c: c.list_services(name, version))
        if not found:
            raise RelayError(404, f"web service '{name}' version '{version}' was not found")
        return dict(found[0])

    @web.authenticated
    @authorized
    @answers
    async def get(self, name: str, version: str) -> None:
        self.reply(await self._one(name, version))

    @web.authenticated
    @authorized
    @answers
    async def patch(self, name: str, version: str) -> None:
        body = Body(self.body())
        description = body.raw.get("description")
        if not isinstance(description, str):
            raise RelayError(400, "'description' (a string) is required", "description")
        await self.call(lambda c: c.patch_service(name, version, {"description": description}))
        self.reply(await self._one(name, version))

    @web.authenticated
    @authorized
    @answers
    async def delete(self, name: str, version: str) -> None:
        await self.call(lambda c: c.delete_service(name, version))
        self.reply({"deleted": True})


class SwaggerHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(lambda c: c.swagger(name, version)))


class ConsumeHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self, name: str, version: str) -> None:
        body = self.body()
        inputs = body.get("inputs", {}) if isinstance(body, dict) else None
        if not isinstance(inputs, dict):
            raise RelayError(400, "'inputs' must be an object {name: value}", "inputs")
        result = await self.call(lambda c: c.consume(name, version, inputs), where="consume")
        answer = result.raw if isinstance(result.raw, dict) else {}
        self.reply({**answer, "elapsed": round(result.elapsed or 0.0, 4)})


class BatchStartHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self, name: str, version: str) -> None:
        body = Body(self.body())
        records = body.raw.get("records")
        if not isinstance(records, list) or not records:
            raise RelayError(400, "'records' must be a non-empty list of input objects", "records")
        parallel = body.raw.get("parallelCount", 10)
        if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
            raise RelayError(400, "'parallelCount' must be a positive integer", "parallelCount")
        execution_id = await self.call(lambda c: c.start_batch(name, version, records, parallel), where="batch")
        self.reply({"executionId": execution_id}, 202)


class BatchHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self, name: str, version: str, execution_id: str) -> None:
        self.reply(await self.call(lambda c: c.batch_status(name, version, execution_id)))

    @web.authenticated
    @authorized
    @answers
    async def delete(self, name: str, version: str, execution_id: str) -> None:
        await self.call(lambda c: c.cancel_batch(name, version, execution_id))
        self.reply({"deleted": True})


# ---------------------------------------------------------------- kernels
class NamespaceHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self, kernel_id: str) -> None:
        answer = await self.in_kernel(kernel_id, {"command": "list"})
        self.reply({"objects": answer.get("objects", []),
                    "functions": [function_info(f) for f in answer.get("functions", [])]})


class AnalyzeHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self, kernel_id: str) -> None:
        request = AnalyzeRequest.parse(self.body())
        answer = await self.in_kernel(kernel_id, request.to_kernel())
        function = answer.get("function")
        self.reply({"inputs": answer.get("inputs", []), "outputs": answer.get("outputs", []),
                    "objects": answer.get("objects", []), "notes": answer.get("notes", []),
                    "function": function_info(function) if function else None,
                    "environment": await self._with_server_versions(answer.get("environment"))})

    async def _with_server_versions(self, environment: dict[str, Any] | None) -> dict[str, Any]:
        """The kernel's environment with the o16n server's versions (its ``GET /environments/server``):
        ``serverPackages``, every package the server has (normalized name -> version), for rows the
        user adds; and each package's ``serverVersion``, null when the server lacks it. When the
        server cannot say (no login, or a server without environments), ``serverPackages`` is null
        and no package has a ``serverVersion``: unknown is not "lacking"."""
        environment = environment or {"python": None, "packages": [], "notes": []}
        server: dict[str, str] | None = None
        try:
            client = await self.connection.require_client()
            answer = await self.connection.run(client.server_environment)
            if answer is not None:
                server = {normalize(str(k)): str(v) for k, v in (answer.get("packages") or {}).items()}
        except (RelayError, O16nError):
            pass  # analysis works without a login; the versions are then unknown
        packages = []
        for p in environment.get("packages") or []:
            package = {"name": p.get("name"), "version": p.get("version"), "reason": p.get("reason"),
                       "direct": bool(p.get("direct"))}
            if server is not None:
                package["serverVersion"] = server.get(normalize(str(p.get("name"))))
            packages.append(package)
        return {"python": environment.get("python"), "packages": packages, "notes": environment.get("notes") or [],
                "serverPackages": server}


class KernelTestHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self, kernel_id: str) -> None:
        request = KernelTestRequest.parse(self.body())
        answer = await self.in_kernel(kernel_id, request.to_kernel(), run_timeout=self.o16n.test_timeout)
        self.reply({key: answer.get(key) for key in ("success", "outputs", "consoleOutput", "errorMessage", "elapsed")})


# ---------------------------------------------------------------- publishing
class PublishHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self) -> None:
        await self.check_kernel_access()
        request = PublishRequest.parse(self.body())
        check_segment(request.kernel_id, "kernelId")
        files = self.o16n.publisher.confine_files(request)  # 400 now rather than a failed job
        if request.kernel_id not in self.o16n.serverapp.kernel_manager:
            raise RelayError(404, f"there is no kernel {request.kernel_id}", "kernelId")
        client = await self.connection.require_client()
        job = self.o16n.publisher.start(request, client, files)
        self.reply({"jobId": job.id}, 202)

    @web.authenticated
    @authorized
    @answers
    async def get(self) -> None:
        notebook = self.get_query_argument("notebook", None) or None
        self.reply({"jobs": [job.to_json() for job in self.o16n.publisher.latest(notebook)]})


class EnvironmentsHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self) -> None:
        self.reply(await self.call(lambda c: c.list_environments()))


class PublishJobHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self, job_id: str) -> None:
        job = self.o16n.publisher.jobs.get(job_id)
        if job is None:
            raise RelayError(404, f"there is no publish job {job_id}", "jobId")
        self.reply(job.to_json())


S = rf"/o16n/services/{NAME}/{VERSION}"
K = r"/o16n/kernels/(?P<kernel_id>[^/]+)"
HANDLERS: list[tuple[str, type[O16nHandler]]] = [
    (r"/o16n/status", StatusHandler),
    (r"/o16n/login", LoginHandler),
    (r"/o16n/logout", LogoutHandler),
    (r"/o16n/services", ServicesHandler),
    (S, ServiceHandler),
    (S + r"/swagger", SwaggerHandler),
    (S + r"/consume", ConsumeHandler),
    (S + r"/batch", BatchStartHandler),
    (S + r"/batch/(?P<execution_id>[^/]+)", BatchHandler),
    (K + r"/namespace", NamespaceHandler),
    (K + r"/analyze", AnalyzeHandler),
    (K + r"/test", KernelTestHandler),
    (r"/o16n/publish", PublishHandler),
    (r"/o16n/publish/(?P<job_id>[^/]+)", PublishJobHandler),
    (r"/o16n/environments", EnvironmentsHandler),
]
