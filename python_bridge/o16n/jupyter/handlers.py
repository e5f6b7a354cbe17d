"""The /o16n/ routes (docs/jupyter-api.md). Every handler is behind Jupyter's authentication and
authorization (resource "o16n"; the kernel routes also need "execute" on "kernels"); APIHandler
enforces XSRF for cookie-authenticated requests. The relay only ever calls the configured o16n
server: no URL comes from the request.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from o16n.client.transport import path as api_path

from .errors import RelayError
from .kernels import (
    KernelCodeFailed,
    KernelUnavailable,
    private_dir,
    remove_dir,
    run_in_kernel,
)
from .publish import PublishRequest, check_segment, wire_type

NAME = r"(?P<name>[^/]+)"
VERSION = r"(?P<version>[^/]+)"
Method = Callable[..., Awaitable[None]]


def answers(method: Method) -> Method:
    """Turn RelayError (and kernel errors) into ``{"message", "field", "step"}`` with their status."""
    @functools.wraps(method)
    async def wrapper(self: O16nHandler, *args: Any, **kwargs: Any) -> None:
        try:
            for field, value in kwargs.items():
                check_segment(value, field)
            await method(self, *args, **kwargs)
        except RelayError as exc:
            self.reply(exc.to_json(), exc.status)
        except KernelUnavailable as exc:
            self.reply({"message": exc.message, "field": "kernelId", "step": None}, exc.status)
        except KernelCodeFailed as exc:
            self.reply({"message": f"the kernel could not do it: {exc}", "field": None, "step": None}, 500)
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

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A blocking client call on the logged-in client, in the thread pool."""
        client = await self.connection.require_client()
        return await self.connection.run(fn, client, *args)

    async def check_kernel_access(self) -> None:
        # Reading or serializing a kernel's variables is running code in it.
        if not await _ensure(self.authorizer.is_authorized(self, self.current_user, "execute", "kernels")):
            raise web.HTTPError(403, "not authorized to execute code in kernels")


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
        body = self.body()
        username, password = body.get("username"), body.get("password")
        connection = self.connection
        if connection.mode == "embedded" and not username:
            await connection.login_as_admin()
            self.reply(await connection.status())
            return
        if not isinstance(username, str) or not username:
            raise RelayError(400, "'username' is required", "username")
        if not isinstance(password, str) or not password:
            raise RelayError(400, "'password' is required", "password")
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
        return found[0]

    @web.authenticated
    @authorized
    @answers
    async def get(self, name: str, version: str) -> None:
        self.reply(await self._one(name, version))

    @web.authenticated
    @authorized
    @answers
    async def patch(self, name: str, version: str) -> None:
        body = self.body()
        description = body.get("description") if isinstance(body, dict) else None
        if not isinstance(description, str):
            raise RelayError(400, "'description' (a string) is required", "description")
        await self.call(lambda c: c.request("PATCH", api_path("services", name, version),
                                                         json={"description": description}))
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
        doc = await self.call(lambda c: c.request("GET", api_path("api", name, version, "swagger.json")))
        self.reply(json.loads(doc) if isinstance(doc, str) else doc)


class ConsumeHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self, name: str, version: str) -> None:
        body = self.body()
        inputs = body.get("inputs", {}) if isinstance(body, dict) else None
        if not isinstance(inputs, dict):
            raise RelayError(400, "'inputs' must be an object {name: value}", "inputs")
        started = time.perf_counter()
        result = await self.call(lambda c: c.request("POST", api_path("api", name, version), json=inputs))
        if isinstance(result, dict):
            result = {**result, "elapsed": round(time.perf_counter() - started, 4)}
        self.reply(result)


class BatchStartHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self, name: str, version: str) -> None:
        body = self.body()
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            raise RelayError(400, "'records' must be a non-empty list of input objects", "records")
        parallel = body.get("parallelCount", 10)
        if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
            raise RelayError(400, "'parallelCount' must be a positive integer", "parallelCount")
        answer = await self.call(lambda c: c.request(
            "POST", api_path("api", name, version, "batch"), params={"parallelCount": parallel}, json=records))
        lowered = {str(k).lower(): v for k, v in (answer or {}).items()} if isinstance(answer, dict) else {}
        self.reply({"executionId": lowered.get("batchexecutionid")}, 202)


class BatchHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self, name: str, version: str, execution_id: str) -> None:
        self.reply(await self.call(lambda c: c.request(
            "GET", api_path("api", name, version, "batch", execution_id))))

    @web.authenticated
    @authorized
    @answers
    async def delete(self, name: str, version: str, execution_id: str) -> None:
        await self.call(lambda c: c.request("DELETE", api_path("api", name, version, "batch", execution_id)))
        self.reply({"deleted": True})


# ---------------------------------------------------------------- kernels and publishing
class VariablesHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def get(self, kernel_id: str) -> None:
        await self.check_kernel_access()
        workdir = private_dir(self.o16n.capture_dir or None, "o16n-list-")
        try:
            answer = await run_in_kernel(self.o16n.serverapp.kernel_manager, kernel_id, {"command": "list"}, workdir,
                                         timeout=self.o16n.kernel_timeout, run_timeout=120)
        finally:
            remove_dir(workdir)
        for fn in answer.get("functions", []):
            for p in fn.get("parameters", []):
                p["pythonType"] = p.get("annotation")
                p["annotation"] = wire_type(p.get("annotation")) or p.get("annotation")
            fn["pythonReturns"] = fn.get("returns")
            fn["returns"] = wire_type(fn.get("returns")) or fn.get("returns")
        self.reply({"variables": answer.get("variables", []), "functions": answer.get("functions", [])})


class PublishHandler(O16nHandler):
    @web.authenticated
    @authorized
    @answers
    async def post(self) -> None:
        await self.check_kernel_access()
        request = PublishRequest.parse(self.body())
        files = self.o16n.publisher.confine_files(request)  # 400 now rather than a failed job
        if request.kernel_id not in self.o16n.serverapp.kernel_manager:
            raise RelayError(404, f"there is no kernel {request.kernel_id}", "kernelId")
        client = await self.connection.require_client()
        job = self.o16n.publisher.start(request, client, files)
        self.reply({"jobId": job.id}, 202)


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
    (r"/o16n/kernels/(?P<kernel_id>[^/]+)/variables", VariablesHandler),
    (r"/o16n/publish", PublishHandler),
    (r"/o16n/publish/(?P<job_id>[^/]+)", PublishJobHandler),
]
