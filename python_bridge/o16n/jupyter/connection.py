"""The extension's link to its one o16n server: login states, the relay's grant, blocking calls.

The connection is in one of five login states, changed only by `transition` (a pure function of
the state and an event) through `Connection._apply`:

    starting    the embedded server is starting, or a login by ourselves is under way
    logged out  nobody is logged in (remote mode before POST /o16n/login, or after a logout)
    waiting for device sign-in
                a device-code sign-in (`oidc`) was started: the state carries the prompt the lab
                shows (verification URI, user code, expiry) while the relay polls the issuer
    logged in   the relay holds a grant (`client`) and the kernels theirs (`tokens.KernelTokens`)
    failed      the last login by ourselves failed, or the server stopped taking our grant; `message`

Two grants are held, both server-side only: the relay's (`client`, used for every /o16n/ call the
lab makes) and the kernels' (a short-lived access token in the kernels' credentials file). In
remote mode the password is used once to log in and then forgotten (the refresh tokens carry on);
the embedded server's admin password is on disk anyway, so there it is kept to log in again if the
server's data were reset. With an OpenID Connect sign-in (`oidc`: client credentials or device
code) both grants take their bearer tokens from one `oidc.TokenKeeper`, which renews them at the
issuer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from o16n.client import Client, NotFound, O16nError
from o16n.client.tokens import hide_tokens
from o16n.client.transport import Transport

from .credentials import KernelCredentials
from .embedded import ADMIN, EmbeddedServer
from .errors import RelayError, from_client_error
from .oidc import DeviceCode, Issuer, OidcSettings, SignInError, TokenKeeper, Tokens, wait_for_device
from .tokens import KernelTokens

T = TypeVar("T")


class Login(StrEnum):
    STARTING = "starting"
    LOGGED_OUT = "logged out"
    WAITING_DEVICE = "waiting for device sign-in"
    LOGGED_IN = "logged in"
    FAILED = "failed"


@dataclass(frozen=True)
class ConnectionState:
    login: Login
    username: str | None = None
    message: str | None = None
    device: dict[str, Any] | None = None  # the device sign-in prompt, while waiting for it


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


@dataclass(frozen=True)
class DeviceCodeIssued:
    prompt: dict[str, Any]
    message: str


Event = LoginStarted | LoggedIn | LoggedOut | LoginFailed | DeviceCodeIssued


def transition(state: ConnectionState, event: Event) -> ConnectionState:
    """The one place login states change."""
    if isinstance(event, DeviceCodeIssued):  # the relay dropped any grant before asking for a code
        return ConnectionState(Login.WAITING_DEVICE, None, event.message, event.prompt)
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


def _status_and_me(client: Client) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The server's /status, and who it takes us for (None where /users/me does not answer)."""
    server = client.status()
    try:
        return server, client.me()
    except O16nError:
        return server, None


def _user(name: str | None, me: dict[str, Any] | None, embedded_admin: bool) -> dict[str, Any]:
    """Status' ``user``: the login name and the role in force."""
    me = me or {}
    return {"name": me.get("username") or name, "role": me.get("role") or ("Owner" if embedded_admin else None)}


def _account(me: dict[str, Any] | None) -> dict[str, Any] | None:
    """Status' ``account``: how the user signed in, from /users/me (None where it does not answer)."""
    if not me:
        return None
    return {"provider": me.get("provider"), "displayName": me.get("displayName"), "roleSource": me.get("roleSource")}


class Connection:
    """Embedded or remote o16n server, who is logged in to it, and the kernels' token file."""

    def __init__(self, *, url: str | None, embedded: EmbeddedServer | None, credentials: KernelCredentials,
                 log: Any, request_timeout: float = 300.0, threads: int = 8, oidc: OidcSettings | None = None,
                 oidc_error: str | None = None) -> None:
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
        # OpenID Connect sign-in (remote mode): the issuer, the keeper of the current tokens, the
        # device sign-in being polled, and whether we sign in by ourselves (client credentials)
        self.issuer = Issuer(oidc) if oidc is not None and embedded is None else None
        self._keeper: TokenKeeper | None = None
        self._device_task: asyncio.Task[None] | None = None
        self._auto_oidc = False
        if oidc_error:
            self._apply(LoginFailed(oidc_error))
        credentials.export(self.url)

    def _apply(self, event: Event) -> None:
        self.state = transition(self.state, event)

    @property
    def username(self) -> str | None:
        return self.state.username

    @property
    def login_methods(self) -> list[str]:
        """How the lab may log in: ``admin`` (embedded), ``password``, and the configured OIDC flow."""
        if self.embedded is not None:
            return ["admin"]
        flows = {"device_code": "device", "client_credentials": "client_credentials"}
        return ["password"] + ([flows[self.issuer.settings.flow]] if self.issuer is not None else [])

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
        elif self.client is None and self._auto_oidc:
            await self._login_oidc_auto()
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
        elif self.issuer is not None and self.issuer.settings.flow == "client_credentials":
            self._auto_oidc = True
            self._apply(LoginStarted(f"signing in to {self.url} with client credentials from {self.issuer.settings.issuer}"))

    async def login(self, username: str, password: str, if_needed: bool = False) -> None:
        async with self._login_lock:
            if if_needed and self.client is not None:
                return  # another request logged in while we waited
            self._cancel_device()
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
            self._auto_oidc = False
            self._cancel_device()
            await self._drop_grants()
            self._apply(LoggedOut("not logged in" if self.mode == "remote"
                                  else "logged out: log in again to use the embedded o16n server"))

    async def _drop_grants(self) -> None:
        client, kernels, keeper = self.client, self.tokens.release(), self._keeper
        self.client, self._keeper = None, None
        for closable in (client, kernels, keeper):
            if closable is not None:
                try:  # revokes the refresh token; the server may be gone, which is fine
                    await asyncio.get_running_loop().run_in_executor(self.executor, closable.close)
                except Exception:
                    pass

    # ------------------------------------------------------------ OpenID Connect sign-in
    def _issuer_for(self, flow: str) -> Issuer:
        if self.issuer is None or self.issuer.settings.flow != flow:
            raise RelayError(400, f"this Jupyter server is not set up for the OpenID Connect {flow} sign-in "
                                  f"(c.O16n.oidc_flow = '{flow}')", "method")
        return self.issuer

    async def _at_issuer(self, fn: Callable[..., T], *args: Any) -> T:
        """A blocking call to the issuer in the thread pool; its refusals become RelayErrors."""
        try:
            return await self.run(fn, *args)
        except SignInError as exc:
            raise RelayError(exc.status, f"OpenID Connect sign-in: {exc.message}", "method") from None

    async def login_with_client_credentials(self, if_needed: bool = False) -> None:
        issuer = self._issuer_for("client_credentials")
        async with self._login_lock:
            if if_needed and self.client is not None:
                return
            self._cancel_device()
            tokens = await self._at_issuer(issuer.client_credentials)
            await self._take_oidc_tokens(issuer, tokens)
            self._auto_oidc = True  # signed in as the client: sign in again by ourselves when needed

    async def _login_oidc_auto(self) -> None:
        try:
            await self.login_with_client_credentials(if_needed=True)
        except RelayError as exc:
            message = f"cannot sign in to {self.url} with client credentials: {exc.message}"
            self._apply(LoginFailed(message))
            raise RelayError(exc.status, message) from None

    async def start_device_login(self) -> None:
        """Ask the issuer for a device code; the state shows the prompt while `_finish_device` polls.
        A device sign-in replaces the current login (dropped once the code is issued)."""
        issuer = self._issuer_for("device_code")
        async with self._login_lock:
            self._cancel_device()
            self._auto_login = None
            device = await self._at_issuer(issuer.start_device)
            await self._drop_grants()
            self._apply(DeviceCodeIssued(device.prompt(), f"to sign in, open {device.verification_uri} "
                                                          f"and enter the code {device.user_code}"))
            self._device_task = asyncio.get_running_loop().create_task(self._finish_device(issuer, device))

    async def _finish_device(self, issuer: Issuer, device: DeviceCode) -> None:
        try:
            tokens = await wait_for_device(issuer, device, self.run)
            async with self._login_lock:
                await self._take_oidc_tokens(issuer, tokens)
        except SignInError as exc:
            self._apply(LoginFailed(f"device sign-in at {issuer.settings.issuer}: {exc.message}"))
        except RelayError as exc:
            self._apply(LoginFailed(f"device sign-in: {exc.message}"))
        except Exception as exc:  # never leave the lab waiting for a sign-in that cannot end
            self.log.exception("o16n: the device sign-in failed")
            self._apply(LoginFailed(f"device sign-in failed: {type(exc).__name__}: {hide_tokens(str(exc))}"))
        finally:
            if self._device_task is asyncio.current_task():
                self._device_task = None

    def _cancel_device(self) -> None:
        if self._device_task is not None:
            self._device_task.cancel()
            self._device_task = None

    async def _take_oidc_tokens(self, issuer: Issuer, tokens: Tokens) -> None:
        """Both grants from one keeper of these tokens, once the o16n server takes them (under the lock)."""
        keeper = TokenKeeper(issuer, tokens)

        def grants() -> tuple[Transport, Transport, dict[str, Any]]:
            relay = Transport(self.url, token_provider=keeper, revoke_on_close=False, timeout=self.request_timeout)
            kernels = Transport(self.url, token_provider=keeper, revoke_on_close=False, timeout=60.0)
            try:
                relay.renew()
                kernels.renew()
                try:  # a 401 (token refused) or 403 (no role maps) ends the sign-in here
                    me = Client(relay).me()
                except NotFound:
                    me = {}  # an o16n server without /users/me
            except BaseException:
                relay.close()
                kernels.close()
                keeper.close()
                raise
            return relay, kernels, me

        relay, kernels, me = await self.run(grants)
        await self._drop_grants()
        self.client, self._keeper = Client(relay), keeper
        self.tokens.take(kernels)
        name = str(me.get("username") or issuer.settings.client_id)
        self._apply(LoggedIn(name))
        self.log.info("o16n: signed in to %s as %s through %s", self.url, name, issuer.settings.issuer)

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
        elif self._auto_login or self._auto_oidc:
            try:
                await (self._login_remote() if self._auto_login else self._login_oidc_auto())
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
        server, me, message, connected = None, None, self.state.message, False
        client = self.client
        if client is not None:
            try:
                server, me = await self.run(_status_and_me, client)
                connected, message = True, None
            except RelayError as exc:
                message = exc.message
        user, account = None, None
        if client is not None:
            user = _user(self.username, me, embedded_admin=self.mode == "embedded" and self.username == ADMIN)
            account = _account(me)
        embedded = None
        if self.embedded is not None:
            embedded = {"port": self.embedded.port, "passwordFile": str(self.embedded.password_file)}
        return {"connected": connected, "mode": self.mode, "url": self.url, "user": user, "account": account,
                "server": server, "message": message, "login": self.state.login.value, "embedded": embedded,
                "loginMethods": self.login_methods, "device": self.state.device}

    async def stop(self) -> None:
        """Jupyter is stopping: revoke our grants, stop the embedded server, restore the environment."""
        self._stopping = True
        self._cancel_device()
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
        if self.issuer is not None:
            self.issuer.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
