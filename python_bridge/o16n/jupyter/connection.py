"""The extension's link to its one o16n server: login states, the relay's grant, blocking calls.

The connection is in one of four login states, changed only by `transition` (a pure function of
the state and an event) through `Connection._apply`:

    starting    the embedded server is starting, or a login by ourselves is under way
    logged out  nobody is logged in (remote mode before POST /o16n/login, or after a logout)
    logged in   the relay holds a grant (`client`) and the kernels theirs (`tokens.KernelTokens`)
    failed      the last login by ourselves failed, or the server stopped taking our grant; `message`

Two grants are held, both server-side only: the relay's (`client`, used for every /o16n/ call the
lab makes) and the kernels' (a short-lived access token in the kernels' credentials file). In
remote mode the password is used once to log in and then forgotten (the refresh tokens carry on);
the embedded server's admin password is on disk anyway, so there it is kept to log in again if the
server's data were reset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from o16n.client import Client, O16nError
from o16n.client.transport import Transport

from .credentials import KernelCredentials
from .embedded import ADMIN, EmbeddedServer
from .errors import RelayError, from_client_error
from .tokens import KernelTokens

T = TypeVar("T")


class Login(StrEnum):
    STARTING = "starting"
    LOGGED_OUT = "logged out"
    LOGGED_IN = "logged in"
    FAILED = "failed"


@dataclass(frozen=True)
class ConnectionState:
    login: Login
    username: str | None = None
    message: str | None = None


# ---------------------------------------------------------------- events
@dataclass(frozen=True)
class LoginStarted:
    message: str


@dataclass(frozen=True)
class LoggedIn:
    username: str


@dataclass(frozen=True)
class LoggedOut:
    message: str


@dataclass(frozen=True)
class LoginFailed:
    message: str


Event = LoginStarted | LoggedIn | LoggedOut | LoginFailed


def transition(state: ConnectionState, event: Event) -> ConnectionState:
    """The one place login states change."""
    if isinstance(event, LoggedIn):
        return ConnectionState(Login.LOGGED_IN, event.username)
    if isinstance(event, LoggedOut):
        return ConnectionState(Login.LOGGED_OUT, None, event.message)
    if isinstance(event, LoginFailed):
        return ConnectionState(Login.FAILED, None, event.message)
    if state.login == Login.LOGGED_IN:  # a login attempt while logged in keeps the grant until it succeeds
        return state
    return ConnectionState(Login.STARTING, None, event.message)


def _grant(url: str, username: str, password: str, keep_password: bool, timeout: float) -> Transport:
    """Log in and return a Transport holding the new grant (without the password unless asked)."""
    if keep_password:
        transport = Transport(url, username=username, password=password, timeout=timeout)
        transport.login()
        return transport
    first = Transport(url, username=username, password=password, revoke_on_close=False, timeout=timeout)
    try:
        first.login()
        refresh = first.refresh_token
    finally:
        first.http.close()
    transport = Transport(url, username=username, refresh_token=refresh, revoke_on_close=True, timeout=timeout)
    transport.renew()  # rotates once; from here on only refresh tokens are held
    return transport


class Connection:
    """Embedded or remote o16n server, who is logged in to it, and the kernels' token file."""

    def __init__(self, *, url: str | None, embedded: EmbeddedServer | None, credentials: KernelCredentials,
                 log: Any, request_timeout: float = 300.0, threads: int = 8) -> None:
        self.embedded = embedded
        self.url = (embedded.url if embedded else url or "").rstrip("/")
        self.mode = "embedded" if embedded else "remote"
        self.log = log
        self.request_timeout = request_timeout
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="o16n")
        self.client: Client | None = None
        self.tokens = KernelTokens(credentials, self.url, self.run)
        self.state = ConnectionState(Login.STARTING, None, "the embedded o16n server is starting") if embedded \
            else ConnectionState(Login.LOGGED_OUT, None, "not logged in")
        self._login_lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._auto_login: tuple[str, str] | None = None
        self._stopping = False
        credentials.export(self.url)

    def _apply(self, event: Event) -> None:
        self.state = transition(self.state, event)

    @property
    def username(self) -> str | None:
        return self.state.username

    # ------------------------------------------------------------ running blocking client calls
    async def run(self, fn: Callable[..., T], *args: Any, where: str = "publish") -> T:
        """Run a blocking `o16n.client` call in the thread pool; client errors become RelayErrors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, lambda: fn(*args))
        except O16nError as exc:
            raise from_client_error(exc, self.url, where) from None

    async def require_client(self) -> Client:
        """The relay's client; logs in by ourselves first when we may (waits for the embedded server)."""
        self.start_background()
        if self.client is None and self._auto_login:
            if self.mode == "embedded":
                await self._login_embedded(wait=True)
            else:
                await self._login_remote()
        if self.client is None:
            if self.state.login == Login.FAILED and self.mode == "embedded":
                raise RelayError(502, self.state.message or "the embedded o16n server is not available")
            raise RelayError(401, "not logged in to the o16n server at " + self.url +
                             ": log in first (POST /o16n/login)")
        return self.client

    # ------------------------------------------------------------ login / logout
    def configure_auto_login(self, username: str | None, password: str | None) -> None:
        """Log in by ourselves: always for the embedded server, for a remote one when both are set."""
        if self.embedded is not None:
            self._auto_login = (username or ADMIN, password or self.embedded.password)
        elif username and password:
            self._auto_login = (username, password)
            self._apply(LoginStarted(f"logging in to {self.url} as {username}"))

    async def login(self, username: str, password: str, if_needed: bool = False) -> None:
        async with self._login_lock:
            if if_needed and self.client is not None:
                return  # another request logged in while we waited
            keep = self.embedded is not None
            relay = await self.run(_grant, self.url, username, password, keep, self.request_timeout)
            try:
                kernels = await self.run(_grant, self.url, username, password, keep, 60.0)
            except BaseException:
                await self.run(relay.close)
                raise
            await self._drop_grants()
            self.client = Client(relay)
            self.tokens.take(kernels)
            self._apply(LoggedIn(username))
            self.log.info("o16n: logged in to %s as %s", self.url, username)

    async def _login_remote(self) -> None:
        assert self._auto_login is not None
        try:
            await self.login(*self._auto_login, if_needed=True)
        except RelayError as exc:
            message = f"cannot log in to {self.url} as {self._auto_login[0]}: {exc.message}"
            self._apply(LoginFailed(message))
            raise RelayError(exc.status, message) from None

    async def login_as_admin(self) -> None:
        """Embedded mode: log in as the embedded server's admin again (after a logout)."""
        assert self.embedded is not None
        self.configure_auto_login(None, None)
        await self._login_embedded(wait=True)
        if self.client is None:
            raise RelayError(502, self.state.message or "cannot log in to the embedded o16n server")

    async def logout(self) -> None:
        async with self._login_lock:
            self._auto_login = None  # stay logged out until POST /o16n/login
            await self._drop_grants()
            self._apply(LoggedOut("not logged in" if self.mode == "remote"
                                  else "logged out: log in again to use the embedded o16n server"))

    async def _drop_grants(self) -> None:
        client, kernels = self.client, self.tokens.release()
        self.client = None
        for closable in (client, kernels):
            if closable is not None:
                try:  # revokes the refresh token; the server may be gone, which is fine
                    await asyncio.get_running_loop().run_in_executor(self.executor, closable.close)
                except Exception:
                    pass

    async def _login_embedded(self, wait: bool) -> None:
        assert self.embedded is not None
        if self.client is None:
            self._apply(LoginStarted("the embedded o16n server is starting"))
        try:
            if not self.embedded.running:
                self.embedded.start()
            await self.embedded.wait_ready(timeout=120 if wait else 0.5)
            if self.client is None and self._auto_login:
                await self.login(*self._auto_login, if_needed=True)
        except RelayError as exc:
            who = self._auto_login[0] if self._auto_login else ADMIN
            self._apply(LoginFailed(f"cannot log in to the embedded o16n server as {who}: {exc.message}"))
        except RuntimeError as exc:
            self._apply(LoginFailed(str(exc)))

    # ------------------------------------------------------------ background: start, keep tokens fresh
    def start_background(self) -> None:
        """Start (once) the task that logs in and keeps the kernels' token fresh."""
        if self._background is None and not self._stopping:
            self._background = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        if self.embedded is not None:
            await self._login_embedded(wait=True)
        elif self._auto_login:
            try:
                await self._login_remote()
            except RelayError:
                pass  # the state says why; requests try again
        while not self._stopping:
            await asyncio.sleep(self.tokens.next_check())
            if self._stopping:
                break
            if self.embedded is not None and not self.embedded.running:
                self.log.warning("o16n: the embedded server stopped; starting it again")
                await self._login_embedded(wait=False)
            await self._renew_kernel_token()

    async def _renew_kernel_token(self) -> None:
        try:
            await self.tokens.renew_if_due()
        except RelayError as exc:
            message = f"cannot renew the kernels' o16n token: {exc.message}"
            self.log.warning("o16n: %s", message)
            if exc.status == 401 and self.embedded is None:  # the grant is gone: log in again
                await self._drop_grants()
                self._apply(LoginFailed(message))

    # ------------------------------------------------------------ status and shutdown
    async def status(self) -> dict[str, Any]:
        self.start_background()
        server, message, connected = None, self.state.message, False
        if self.client is not None:
            try:
                server = await self.run(self.client.status)
                connected, message = True, None
            except RelayError as exc:
                message = exc.message
        user = None
        if self.client is not None:
            name = self.username
            user = {"name": name, "role": "Owner" if self.mode == "embedded" and name == ADMIN else None}
        embedded = None
        if self.embedded is not None:
            embedded = {"port": self.embedded.port, "passwordFile": str(self.embedded.password_file)}
        return {"connected": connected, "mode": self.mode, "url": self.url, "user": user,
                "server": server, "message": message, "login": self.state.login.value, "embedded": embedded}

    async def stop(self) -> None:
        """Jupyter is stopping: revoke our grants, stop the embedded server, restore the environment."""
        self._stopping = True
        if self._background is not None:
            self._background.cancel()
            try:
                await self._background
            except (asyncio.CancelledError, Exception):
                pass
        try:
            await asyncio.wait_for(self._drop_grants(), timeout=10)
        except Exception:
            pass
        self.tokens.credentials.restore()
        if self.embedded is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.embedded.stop)
        self.executor.shutdown(wait=False, cancel_futures=True)
