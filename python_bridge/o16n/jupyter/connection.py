"""The extension's link to its one o16n server: login, tokens, and blocking calls off the event loop.

Two grants are held, both server-side only:
- the relay's (`client`): used for every /o16n/ call the lab makes;
- the kernels' (`kernel_tokens`): its short-lived access token is written to the kernels'
  credentials file and renewed before expiry. Renewing rotates that grant only, so the relay never
  disturbs kernels and the other way round.
In remote mode the password is used once to log in and then forgotten (the refresh tokens carry
on); the embedded server's admin password is on disk anyway, so there it is kept to log in again
if the server's data were reset.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from o16n.client import Client, O16nError
from o16n.client.transport import Transport

from .credentials import KernelCredentials
from .embedded import ADMIN, EmbeddedServer
from .errors import RelayError, from_client_error

T = TypeVar("T")
# Rewrite the kernels' token when this share of its lifetime is left.
RENEW_SHARE = 0.25


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
    """Embedded or remote o16n server, the user logged in to it, and the kernels' token file."""

    def __init__(self, *, url: str | None, embedded: EmbeddedServer | None, credentials: KernelCredentials,
                 log: Any, request_timeout: float = 300.0, threads: int = 8) -> None:
        self.embedded = embedded
        self.url = (embedded.url if embedded else url or "").rstrip("/")
        self.mode = "embedded" if embedded else "remote"
        self.credentials = credentials
        self.log = log
        self.request_timeout = request_timeout
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="o16n")
        self.client: Client | None = None
        self.kernel_tokens: Transport | None = None
        self.username: str | None = None
        self.message: str | None = None  # why we are not connected, when we are not
        self._login_lock = asyncio.Lock()
        self._background: asyncio.Task | None = None
        self._auto_login: tuple[str, str] | None = None
        self._token_issued_at = 0.0
        self._stopping = False
        credentials.export(self.url)

    # ------------------------------------------------------------ running blocking client calls
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking `o16n.client` call in the thread pool; client errors become RelayErrors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, lambda: fn(*args))
        except O16nError as exc:
            raise from_client_error(exc, self.url) from None

    async def require_client(self) -> Client:
        """The relay's client; waits for the embedded server's first login."""
        self.start_background()
        if self.client is None and self._auto_login:
            if self.mode == "embedded":
                await self._login_embedded(wait=True)
            else:
                await self._login_remote()
        if self.client is None:
            if self.message and self.mode == "embedded":
                raise RelayError(502, self.message)
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
            self.client, self.kernel_tokens, self.username = Client(relay), kernels, username
            self.message = None
            self._token_issued_at = time.time()
            self.credentials.write(self.url, kernels.access_token or "", kernels.expires_at)
            self.log.info("o16n: logged in to %s as %s", self.url, username)

    async def _login_remote(self) -> None:
        assert self._auto_login is not None
        try:
            await self.login(*self._auto_login, if_needed=True)
        except RelayError as exc:
            self.message = f"cannot log in to {self.url} as {self._auto_login[0]}: {exc.message}"
            raise RelayError(exc.status, self.message) from None

    async def login_as_admin(self) -> None:
        """Embedded mode: log in as the embedded server's admin again (after a logout)."""
        assert self.embedded is not None
        self.configure_auto_login(None, None)
        await self._login_embedded(wait=True)
        if self.client is None:
            raise RelayError(502, self.message or "cannot log in to the embedded o16n server")

    async def logout(self) -> None:
        async with self._login_lock:
            self._auto_login = None  # stay logged out until POST /o16n/login
            await self._drop_grants()

    async def _drop_grants(self) -> None:
        client, kernels = self.client, self.kernel_tokens
        self.client = self.kernel_tokens = None
        self.username = None
        self.credentials.clear()
        for closable in (client, kernels):
            if closable is not None:
                try:  # revokes the refresh token; the server may be gone, which is fine
                    await asyncio.get_running_loop().run_in_executor(self.executor, closable.close)
                except Exception:
                    pass

    async def _login_embedded(self, wait: bool) -> None:
        assert self.embedded is not None
        try:
            if not self.embedded.running:
                self.embedded.start()
            await self.embedded.wait_ready(timeout=120 if wait else 0.5)
            if self.client is None and self._auto_login:
                await self.login(*self._auto_login, if_needed=True)
        except RelayError as exc:
            self.message = f"cannot log in to the embedded o16n server as {self._auto_login[0]}: {exc.message}" \
                if self._auto_login else exc.message
        except RuntimeError as exc:
            self.message = str(exc)

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
                pass  # the message says why; requests try again
        while not self._stopping:
            await asyncio.sleep(self._next_check())
            if self._stopping:
                break
            if self.embedded is not None and not self.embedded.running:
                self.log.warning("o16n: the embedded server stopped; starting it again")
                await self._login_embedded(wait=False)
            await self._renew_kernel_token()

    def _next_check(self) -> float:
        kernels = self.kernel_tokens
        if kernels is None or kernels.expires_at is None:
            return 2.0
        return min(5.0, max(0.2, self._renew_at(kernels) - time.time()))

    def _renew_at(self, kernels: Transport) -> float:
        expires = kernels.expires_at or 0.0
        lifetime = max(1.0, expires - self._token_issued_at)
        return expires - max(0.5, lifetime * RENEW_SHARE)

    async def _renew_kernel_token(self) -> None:
        kernels = self.kernel_tokens
        if kernels is None or kernels.expires_at is None or time.time() < self._renew_at(kernels):
            return
        try:
            await self.run(kernels.renew)
        except RelayError as exc:
            self.message = f"cannot renew the kernels' o16n token: {exc.message}"
            if exc.status == 401 and self.embedded is None:  # the grant is gone: log in again
                await self._drop_grants()
            return
        if kernels is self.kernel_tokens:
            self._token_issued_at = time.time()
            self.credentials.write(self.url, kernels.access_token or "", kernels.expires_at)
            self.message = None

    # ------------------------------------------------------------ status and shutdown
    async def status(self) -> dict[str, Any]:
        self.start_background()
        server, message, connected = None, self.message, False
        if self.client is not None:
            try:
                server = await self.run(self.client.status)
                connected, message = True, None
            except RelayError as exc:
                message = exc.message
        elif message is None:
            if self.mode == "remote":
                message = "not logged in"
            elif self._auto_login is None:  # the user logged out of the embedded server
                message = "logged out: log in again to use the embedded o16n server"
            else:
                message = "the embedded o16n server is starting"
        user = None
        if self.client is not None:
            name = self.username
            user = {"name": name, "role": "Owner" if self.mode == "embedded" and name == ADMIN else None}
        return {"connected": connected, "mode": self.mode, "url": self.url, "user": user,
                "server": server, "message": message}

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
        self.credentials.restore()
        if self.embedded is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.embedded.stop)
        self.executor.shutdown(wait=False, cancel_futures=True)
