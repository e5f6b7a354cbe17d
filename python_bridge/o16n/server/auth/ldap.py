"""Sign-in against LDAP / Active Directory with ldap3: search-then-bind or direct bind, TLS, a pool.

Search-then-bind (O16N_LDAP_SEARCH_BASE): the service account (O16N_LDAP_BIND_DN, or an anonymous
bind without it) finds the one entry matching O16N_LDAP_SEARCH_FILTER, then a fresh connection
binds as that entry with the user's password. Direct bind (O16N_LDAP_USER_DN_TEMPLATE): bind as
the DN built from the user name, then read the entry as that user. Either way the entry must match
the search filter, so the filter decides who may sign in at all (and, on Active Directory, can
leave out disabled accounts). Groups come from the entry's memberOf, or from a group search.

Service-account connections are kept open in a small pool; each user bind uses a connection of
its own, closed right after. Every call has a connect timeout and an operation timeout; a directory
that cannot be reached or does not answer in time is a DirectoryUnavailable (503), and the next
server in O16N_LDAP_URL is tried first.
"""

from __future__ import annotations

import logging
import math
import queue
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ldap3 import BASE, NONE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from ..config import ConfigError, Settings
from ..errors import Unauthorized
from .providers import DirectoryUnavailable, Identity

log = logging.getLogger("o16n.auth.ldap")
T = TypeVar("T")

_INVALID_CREDENTIALS = 49
_NO_SUCH_OBJECT = 32
_REFUSED = "invalid credentials"


@dataclass(frozen=True)
class LdapConfig:
    urls: tuple[str, ...]
    start_tls: bool
    ca_file: Path | None
    bind_dn: str
    bind_password: str
    user_dn_template: str
    search_base: str
    search_filter: str
    username_attribute: str
    id_attribute: str
    display_name_attribute: str
    group_attribute: str
    group_search_base: str
    group_search_filter: str
    connect_timeout: float
    timeout: float
    pool_size: int

    @classmethod
    def from_settings(cls, s: Settings) -> LdapConfig:
        urls = tuple(u.strip() for u in s.ldap_url.split(",") if u.strip())
        if not urls:
            raise ConfigError("O16N_LDAP_URL", "the ldap provider needs the directory's URL, e.g. ldaps://dc.example.com:636")
        for url in urls:
            if not url.lower().startswith(("ldap://", "ldaps://")):
                raise ConfigError("O16N_LDAP_URL", f"{url!r} is not an ldap:// or ldaps:// URL")
        if s.ldap_ca_file is not None and not s.ldap_ca_file.is_file():
            raise ConfigError("O16N_LDAP_CA_FILE", f"no such file: {s.ldap_ca_file}")
        password = s.ldap_bind_password
        if s.ldap_bind_password_file is not None:
            if password:
                raise ConfigError("O16N_LDAP_BIND_PASSWORD_FILE", "set O16N_LDAP_BIND_PASSWORD or the file, not both")
            try:
                password = s.ldap_bind_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError("O16N_LDAP_BIND_PASSWORD_FILE", f"cannot read it: {exc.strerror}") from None
        if s.ldap_bind_dn and not password:
            raise ConfigError("O16N_LDAP_BIND_PASSWORD", "the service account O16N_LDAP_BIND_DN needs a password")
        if not s.ldap_user_dn_template and not s.ldap_search_base:
            raise ConfigError("O16N_LDAP_SEARCH_BASE", "set O16N_LDAP_SEARCH_BASE (search-then-bind) or "
                              "O16N_LDAP_USER_DN_TEMPLATE (direct bind)")
        if s.ldap_user_dn_template and "{username}" not in s.ldap_user_dn_template:
            raise ConfigError("O16N_LDAP_USER_DN_TEMPLATE", "must contain {username}")
        if not any(p in s.ldap_search_filter for p in ("{username}", "{0}")):
            raise ConfigError("O16N_LDAP_SEARCH_FILTER", "must contain {username}, e.g. (sAMAccountName={username})")
        if s.ldap_group_search_filter and not s.ldap_group_search_base and not s.ldap_search_base:
            raise ConfigError("O16N_LDAP_GROUP_SEARCH_BASE", "the group search filter needs a base to search under")
        if s.ldap_pool_size < 1:
            raise ConfigError("O16N_LDAP_POOL_SIZE", "must be at least 1")
        return cls(
            urls=urls, start_tls=s.ldap_start_tls, ca_file=s.ldap_ca_file, bind_dn=s.ldap_bind_dn,
            bind_password=password, user_dn_template=s.ldap_user_dn_template, search_base=s.ldap_search_base,
            search_filter=s.ldap_search_filter, username_attribute=s.ldap_username_attribute,
            id_attribute=s.ldap_id_attribute, display_name_attribute=s.ldap_display_name_attribute,
            group_attribute=s.ldap_group_attribute,
            group_search_base=s.ldap_group_search_base or s.ldap_search_base,
            group_search_filter=s.ldap_group_search_filter, connect_timeout=s.ldap_connect_timeout,
            timeout=s.ldap_timeout, pool_size=s.ldap_pool_size,
        )

    @property
    def encrypted(self) -> bool:
        return self.start_tls or all(u.lower().startswith("ldaps://") for u in self.urls)


def _text(value: bytes) -> str:
    """An attribute value as text; binary ids (AD objectGUID) as their GUID string."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return str(uuid.UUID(bytes_le=value)) if len(value) == 16 else value.hex()


class _Entry:
    def __init__(self, dn: str, raw: dict[str, list[bytes]]) -> None:
        self.dn = dn
        self._raw = {k.lower(): v for k, v in raw.items()}

    def values(self, attribute: str) -> list[str]:
        return [_text(v) for v in self._raw.get(attribute.lower(), [])]

    def first(self, attribute: str) -> str:
        values = self.values(attribute)
        return values[0] if values else ""


class LdapDirectory:
    name = "ldap"

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self._tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(config.ca_file) if config.ca_file else None)
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(config.pool_size)
        if not config.encrypted:
            log.warning("O16N_LDAP_URL is not ldaps:// and O16N_LDAP_START_TLS is off: passwords cross the network in clear")

    # --- the provider interface ----------------------------------------------------------
    def check_password(self, username: str, password: str) -> Identity | None:
        if not password or not username:
            raise Unauthorized(_REFUSED)  # an empty password would be an anonymous bind, which "succeeds"
        if self.config.user_dn_template:
            return self._direct_bind(username, password)
        entry = self._as_service(lambda service: self._find(service, username))
        if entry is None:
            return None
        self._bind_as(entry.dn, password).unbind()
        return self._as_service(lambda service: self._identity(service, entry, username))

    def lookup(self, name: str, external_id: str, *, with_groups: bool) -> Identity | None:
        def work(service: Connection) -> Identity | None:
            entry = self._find(service, name)
            if entry is None or entry.first(self.config.id_attribute) != external_id:
                return None
            return self._identity(service, entry, name, with_groups=with_groups)

        return self._as_service(work)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().unbind()
            except queue.Empty:
                return
            except LDAPException:
                pass

    # --- reading the directory -----------------------------------------------------------
    def _filter(self, username: str) -> str:
        escaped = escape_filter_chars(username)
        return self.config.search_filter.replace("{username}", escaped).replace("{0}", escaped)

    def _attributes(self) -> list[str]:
        c = self.config
        wanted = [c.username_attribute, c.id_attribute, c.display_name_attribute]
        if not c.group_search_filter:
            wanted.append(c.group_attribute)
        return wanted

    def _find(self, connection: Connection, username: str) -> _Entry | None:
        """The one entry that may sign in as `username` (None: none, or more than one)."""
        c = self.config
        if c.user_dn_template:  # the DN is known; the filter still decides whether it may sign in
            base, scope = self._template_dn(username), BASE
        else:
            base, scope = c.search_base, SUBTREE
        entries = self._search(connection, base, self._filter(username), scope, self._attributes(), size_limit=2)
        if len(entries) > 1:
            log.warning("O16N_LDAP_SEARCH_FILTER matches more than one entry for %r: refused", username)
        return entries[0] if len(entries) == 1 else None

    def _groups(self, connection: Connection, entry: _Entry, username: str) -> tuple[str, ...]:
        c = self.config
        if not c.group_search_filter:
            return tuple(entry.values(c.group_attribute))
        query = (c.group_search_filter.replace("{dn}", escape_filter_chars(entry.dn))
                 .replace("{username}", escape_filter_chars(username)))
        return tuple(e.dn for e in self._search(connection, c.group_search_base, query, SUBTREE, ["cn"]))

    def _identity(self, connection: Connection, entry: _Entry, typed: str, *, with_groups: bool = True) -> Identity:
        c = self.config
        external_id = entry.first(c.id_attribute)
        if not external_id:
            # Without it ownership could not survive a rename: refuse rather than key on the name.
            log.error("directory entry %s has no %s (O16N_LDAP_ID_ATTRIBUTE)", entry.dn, c.id_attribute)
            raise DirectoryUnavailable(f"the directory entry has no {c.id_attribute} (O16N_LDAP_ID_ATTRIBUTE)")
        name = entry.first(c.username_attribute) or typed
        groups = self._groups(connection, entry, name) if with_groups else ()
        return Identity("ldap", external_id, name, entry.first(c.display_name_attribute) or name, groups)

    def _search(self, connection: Connection, base: str, query: str, scope: str, attributes: list[str],
                size_limit: int = 0) -> list[_Entry]:
        try:
            connection.search(base, query, search_scope=scope, attributes=attributes, size_limit=size_limit,
                              time_limit=max(1, int(self.config.timeout)))
        except LDAPException as exc:
            raise _unavailable(exc) from None
        code = connection.result.get("result", 0)
        if code not in (0, 4, _NO_SUCH_OBJECT):  # 4: size limit exceeded (we asked for at most two)
            raise DirectoryUnavailable(f"the directory refused a search: {connection.result.get('description')}")
        return [_Entry(r["dn"], r.get("raw_attributes", {})) for r in connection.response or []
                if r.get("type") == "searchResEntry"]

    # --- connections ---------------------------------------------------------------------
    def _template_dn(self, username: str) -> str:
        return self.config.user_dn_template.replace("{username}", escape_rdn(username))

    def _direct_bind(self, username: str, password: str) -> Identity:
        connection = self._bind_as(self._template_dn(username), password)
        try:
            entry = self._find(connection, username)
            if entry is None:  # bound, but the filter leaves this account out
                raise Unauthorized(_REFUSED)
            return self._identity(connection, entry, username)
        finally:
            connection.unbind()

    def _open(self) -> Connection:
        """A connection to the first server that answers (StartTLS done), not yet bound."""
        problems = []
        for url in self.config.urls:
            # A new Server each time: ldap3 would otherwise skip an address that failed once for a while.
            server = Server(url, use_ssl=url.lower().startswith("ldaps://"), tls=self._tls, get_info=NONE,
                            connect_timeout=self.config.connect_timeout)
            # ldap3 packs the receive timeout into a socket option: whole seconds only.
            connection = Connection(server, client_strategy=SYNC, receive_timeout=max(1, math.ceil(self.config.timeout)),
                                    read_only=True, raise_exceptions=False)
            try:
                connection.open()
                if self.config.start_tls and not server.ssl:
                    connection.start_tls()
                return connection
            except LDAPException as exc:
                problems.append(f"{server.host}: {exc}")
                connection.unbind()
        log.warning("no directory server answered: %s", "; ".join(problems))
        raise DirectoryUnavailable("the directory cannot be reached: try again later")

    def _bind_as(self, dn: str, password: str) -> Connection:
        """A connection bound as `dn`; Unauthorized if the directory refuses the password."""
        connection = self._open()
        try:
            if connection.rebind(user=dn, password=password):
                return connection
            code = connection.result.get("result")
        except LDAPException as exc:
            code = getattr(exc, "result", None)
            if code != _INVALID_CREDENTIALS:
                connection.unbind()
                raise _unavailable(exc) from None
        connection.unbind()
        if code == _INVALID_CREDENTIALS:
            raise Unauthorized(_REFUSED)
        raise DirectoryUnavailable("the directory did not accept the bind: try again later")

    def _as_service(self, work: Callable[[Connection], T]) -> T:
        """Run `work` on a pooled service-account connection; at most `pool_size` directory calls at once.

        A pooled connection the directory dropped meanwhile (it restarted) is replaced once.
        """
        if not self._slots.acquire(timeout=self.config.timeout):
            raise DirectoryUnavailable("the directory is busy: try again later")
        try:
            for attempt in (1, 2):
                connection, reused = self._checkout()
                try:
                    result = work(connection)
                except DirectoryUnavailable:
                    connection.unbind()  # maybe broken: never back into the pool
                    if reused and attempt == 1:
                        continue
                    raise
                self._idle.put(connection)
                return result
            raise AssertionError("unreachable")
        finally:
            self._slots.release()

    def _checkout(self) -> tuple[Connection, bool]:
        """(a bound service connection, whether it was used before)."""
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                break
            if not connection.closed:
                return connection, True
        connection = self._open()
        c = self.config
        try:
            bound = connection.rebind(user=c.bind_dn or None, password=c.bind_password or None)
        except LDAPException as exc:
            connection.unbind()
            raise _unavailable(exc) from None
        if not bound:
            connection.unbind()
            log.error("the directory refused the service account O16N_LDAP_BIND_DN: %s", connection.result.get("description"))
            raise DirectoryUnavailable("the directory refused o16n's service account (O16N_LDAP_BIND_DN)")
        return connection, False


def _unavailable(exc: Any) -> DirectoryUnavailable:
    log.warning("directory call failed: %s", exc)
    return DirectoryUnavailable("the directory did not answer: try again later")
