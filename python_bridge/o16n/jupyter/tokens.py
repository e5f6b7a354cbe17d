"""The kernels' grant: a short-lived access token in the kernels' credentials file, renewed in time.

Kernels never hold a refresh token: the Jupyter server keeps this grant's and rewrites the file
(`credentials.KernelCredentials`) when a quarter of the token's lifetime is left. Renewing rotates
this grant only, so the relay's own grant is never disturbed, and the other way round.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from o16n.client.transport import Transport

from .credentials import KernelCredentials

# Rewrite the kernels' token when this share of its lifetime is left.
RENEW_SHARE = 0.25


class KernelTokens:
    """Holds the kernels' grant and keeps the credentials file fresh."""

    def __init__(self, credentials: KernelCredentials, url: str,
                 run: Callable[..., Awaitable[Any]]) -> None:
        self.credentials = credentials
        self.url = url
        self._run = run  # the connection's way of running blocking client calls
        self.transport: Transport | None = None
        self._issued_at = 0.0

    def take(self, transport: Transport) -> None:
        """A new grant (after a login): hand its token to the kernels."""
        self.transport = transport
        self._issued_at = time.time()
        self.credentials.write(self.url, transport.access_token or "", transport.expires_at)

    def release(self) -> Transport | None:
        """Logged out: kernels have no token any more; the caller closes (revokes) the grant."""
        transport, self.transport = self.transport, None
        self.credentials.clear()
        return transport

    def next_check(self) -> float:
        """Seconds until the next renewal is due (bounded, so a stop is noticed soon)."""
        transport = self.transport
        if transport is None or transport.expires_at is None:
            return 2.0
        return min(5.0, max(0.2, self._renew_at(transport) - time.time()))

    def _renew_at(self, transport: Transport) -> float:
        expires = transport.expires_at or 0.0
        lifetime = max(1.0, expires - self._issued_at)
        return expires - max(0.5, lifetime * RENEW_SHARE)

    async def renew_if_due(self) -> None:
        """Renew when due; RelayError when the o16n server refused or could not be reached."""
        transport = self.transport
        if transport is None or transport.expires_at is None or time.time() < self._renew_at(transport):
            return
        await self._run(transport.renew)
        if transport is self.transport:  # not logged out meanwhile
            self._issued_at = time.time()
            self.credentials.write(self.url, transport.access_token or "", transport.expires_at)

