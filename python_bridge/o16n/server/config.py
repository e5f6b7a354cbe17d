"""Server settings: one dataclass, filled from CLI flags and `O16N_*` environment variables.

Every field can be set as `O16N_<FIELD>` (upper case). A value that does not fit its field's type
stops the server at start with a `ConfigError` naming the variable and what was expected.
"""

from __future__ import annotations

import os
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

SandboxMode = Literal["auto", "off", "required"]
NetworkPolicy = Literal["host", "none"]


def _default_data_dir() -> Path:
    return Path(os.environ.get("O16N_DATA_DIR") or Path.home() / ".local/share/o16n")


class ConfigError(ValueError):
    """A setting with a value that does not fit; `.key` is the variable (or flag) to fix."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str | None = None  # None: SQLite file in the data dir
    artifact_url: str | None = None  # None: the data dir's artifacts/; s3://bucket/prefix for several nodes
    s3_endpoint_url: str | None = None  # an S3-compatible endpoint (MinIO, ...); credentials from the AWS variables
    node_url: str | None = None  # how other nodes reach this one (default http://<host>:<port>, the host name if 0.0.0.0)
    node_heartbeat_seconds: float = 2.0  # how often this node says it is alive
    node_dead_after: float = 10.0  # a node silent this long is dead: its sessions are gone, its batches move
    batch_lease_seconds: float = 30.0  # a running batch execution's lease, renewed by its node
    batch_sweep_seconds: float = 5.0  # how often a node looks for batch executions nobody runs
    auto_migrate: bool = True  # migrate the database on start (under a lock); off: wait for `o16n db upgrade`
    host: str = "127.0.0.1"
    port: int = 12800

    access_token_lifetime: int = 3600  # seconds
    signing_key_rotation_days: float = 30.0  # a new token signing key this often (0: only by `o16n keys rotate`)
    refresh_token_idle_lifetime: int = 14 * 24 * 3600  # sliding window
    refresh_token_max_lifetime: int = 90 * 24 * 3600  # a refresh chain ends here; log in again
    login_attempts: int = 10  # failed logins per user name and client address (0: no limit) ...
    login_attempts_per_address: int = 50  # ... and per client address across all names ...
    login_window: float = 300.0  # ... within this many seconds, then 429 until the window passes
    login_concurrency: int = 4  # password checks (argon2) running at once; more wait in line
    auth_cache_seconds: float = 2.0  # how long another node may trust a grant it checked

    # Sign-in providers (docs/authentication.md; checked at start by auth/setup.py).
    auth_providers: str = "local"  # comma list of local, ldap, oidc; POST /login asks them in this order
    auth_roles: str = ""  # JSON {"Owner": [group, ...], "Contributor": [...], "Reader": [...]} (9.1 "Authorization")
    auth_roles_file: Path | None = None  # ... or the same JSON in a file (not both)
    cache_lifetime_minutes: float = 60.0  # directory groups are re-read at most this often (9.1 CacheLifeTimeInMinutes)
    ldap_url: str = ""  # ldap://host:389 or ldaps://host:636; several (comma-separated) are tried in order
    ldap_start_tls: bool = False  # upgrade ldap:// connections with StartTLS
    ldap_ca_file: Path | None = None  # CA certificates (PEM) that signed the directory's certificate
    ldap_bind_dn: str = ""  # service account for search-then-bind and the refresh re-check (9.1 QueryUserDn)
    ldap_bind_password: str = ""  # its password (9.1 QueryUserPassword) ...
    ldap_bind_password_file: Path | None = None  # ... or a file holding it (kept out of the environment)
    ldap_user_dn_template: str = ""  # direct bind instead of a search, e.g. uid={username},ou=people,dc=example,dc=org
    ldap_search_base: str = ""  # where users are searched (9.1 SearchBase)
    ldap_search_filter: str = "(uid={username})"  # who may sign in; an account that stops matching is refused (9.1 SearchFilter)
    ldap_username_attribute: str = "uid"  # the sign-in name as the directory spells it (AD: sAMAccountName)
    ldap_id_attribute: str = "entryUUID"  # immutable id that ownership is keyed on (AD: objectGUID)
    ldap_display_name_attribute: str = "displayName"
    ldap_group_attribute: str = "memberOf"  # groups read from the user's entry ...
    ldap_group_search_base: str = ""  # ... or searched here (with the filter below) when the filter is set
    ldap_group_search_filter: str = ""  # e.g. (&(objectClass=groupOfNames)(member={dn}))
    ldap_connect_timeout: float = 5.0  # seconds to reach one directory server
    ldap_timeout: float = 10.0  # seconds one directory operation may take
    ldap_pool_size: int = 4  # service-account connections kept open, and directory calls at once
    oidc_issuer: str = ""  # https URL of the OpenID provider (discovery: ISSUER/.well-known/openid-configuration)
    oidc_audience: str = ""  # accepted `aud` values (comma list): the API's resource / client id
    oidc_algorithms: str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512"  # asymmetric only
    oidc_roles_claim: str = "roles"  # claim holding roles or groups (`groups`, or a dotted path: realm_access.roles)
    oidc_id_claim: str = "sub"  # stable user id (Azure AD: oid)
    oidc_name_claims: str = "preferred_username,upn,email,name,client_id,azp,appid"  # first present: the user name
    oidc_leeway: float = 30.0  # seconds of clock skew allowed on exp / nbf / iat
    oidc_ca_file: Path | None = None  # CA certificates for the provider's https endpoints (default: the system's)
    oidc_timeout: float = 10.0  # seconds for a discovery or JWKS request
    oidc_jwks_lifetime: float = 3600.0  # seconds before the JWKS is fetched again
    oidc_jwks_min_refetch: float = 5.0  # a token with an unknown `kid` fetches the JWKS again at most this often

    spare_workers: int = 1  # started ahead of time so a new session or pool slot skips the start-up
    pool_max_size: int = 4  # warm workers per service version at most
    pool_idle_seconds: float = 600.0  # a pool worker unused this long is closed (down to the initial size)
    max_workers: int = 32  # service workers on this node at most; the longest-idle one makes room
    max_sessions: int = 20  # live Python sessions on this node
    max_sessions_per_user: int = 5  # live Python sessions of one user on this node
    consume_timeout: float = 60.0  # seconds one consume may run before its worker is killed
    queue_timeout: float = 30.0  # seconds a consume may wait for a free (or starting) worker of its service: then 503
    service_load_timeout: float = 600.0  # seconds a new service worker may take to load its snapshot and run initCode
    execute_timeout: float = 3600.0  # seconds one session execute (or snapshot) may run
    worker_call_timeout: float = 300.0  # seconds a session's object operations (list, get, set, delete) may take
    worker_memory_mb: int = 4096  # memory of each worker: its whole tree (cgroup) and each process's address space (0: none)
    worker_max_processes: int = 256  # processes and threads of each worker's whole tree (cgroup pids, else RLIMIT_NPROC)
    worker_sandbox: SandboxMode = "auto"  # required: namespaces or no user code; auto: namespaces, else Landlock (warned); off
    worker_network: NetworkPolicy = "host"  # host: workers share the server's network (services call databases); none
    worker_bwrap: str = "bwrap"  # bubblewrap, which builds each worker's namespaces
    worker_uid_base: int = 610000  # a root server runs each worker as its own uid from this one (10,000 of them)
    worker_start_timeout: float = 60.0
    worker_output_bytes: int = 64 * 1024  # of a worker's raw stdout/stderr, the last bytes kept (never logged)
    user_max_workers: int = 0  # service workers one user's consumes may hold on this node (0: max_workers // 2; -1: no cap)
    user_max_waiting: int = 64  # consumes one user may have waiting for workers on this node, then 429 (0: no cap)
    service_max_waiting: int = 256  # consumes waiting for workers of one service version on this node, then 429 (0: no cap)
    max_batch_parallel: int = 16  # cap on a batch execution's parallelCount
    max_batch_parallel_per_user: int = 16  # batch chunks of one user running at once on this node
    batch_chunk_max_items: int = 1000  # most batch items sent to a worker in one call
    max_body_bytes: int = 1024 * 1024 * 1024  # uploads, workspace objects, session files
    max_snapshot_bytes: int = 8 * 1024 * 1024 * 1024  # a snapshot zip a session writes
    max_reply_bytes: int = 256 * 1024 * 1024  # outputs and output files of one execution
    max_login_body_bytes: int = 64 * 1024  # /login* bodies, read before anybody is authenticated
    max_unauthenticated_bodies: int = 16  # /login* bodies being read at once
    max_console_bytes: int = 1024 * 1024

    # Realtime services (docs/realtime.md): ONNX models, checked at publish, scored natively.
    realtime_in_process: bool = False  # score in the server process (trusted models only); default: a sandboxed worker
    realtime_threads: int = 1  # ONNX Runtime intra-op threads per model (per worker, or in the server)
    # After each answer a sandboxed model worker watches its socket this long before it sleeps, so the
    # next request of a steady stream finds it awake (a sleeping process wakes slowly on a VM). 0: off.
    realtime_spin_microseconds: int = 300
    max_model_bytes: int = 256 * 1024 * 1024  # a realtime service's ONNX file at most

    # Service environments (docs/environments.md): virtual environments built with uv, one per
    # Python version + pins, shared by every service and session that names the same ones.
    environments_dir: Path | None = None  # where this node keeps them (default <data_dir>/environments); per node
    environments_uv_cache: Path | None = None  # uv's cache (default <data_dir>/uv-cache; same file system: hard links)
    environments_max_bytes: int = 20 * 1024 ** 3  # on this node at most; unused ones go, least recently used first (0: none)
    environments_index_url: str = ""  # the package index (default: uv's, PyPI); e.g. a mirror
    environments_extra_index_url: str = ""  # more indexes (space or comma list)
    environments_find_links: str = ""  # directories or URLs of wheels (space or comma list), e.g. for a server without internet
    environments_no_index: bool = False  # only environments_find_links, no index at all
    environments_build_timeout: float = 1800.0  # seconds one build may take
    environments_min_idle_seconds: float = 120.0  # an unused environment is pruned only after this long unused

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            if typing.get_origin(hints[f.name]) is Literal:  # choices hold however Settings was made
                convert(f"O16N_{f.name.upper()}", hints[f.name], getattr(self, f.name))

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "o16n.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def environments_root(self) -> Path:
        return self.environments_dir or self.data_dir / "environments"

    @property
    def uv_cache(self) -> Path:
        return self.environments_uv_cache or self.data_dir / "uv-cache"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from `O16N_<FIELD>` variables, then explicit overrides (CLI flags) on top."""
        hints = typing.get_type_hints(cls)
        values: dict[str, object] = {}
        for f in fields(cls):
            key = f"O16N_{f.name.upper()}"
            raw = os.environ.get(key)
            if raw is not None and f.name != "data_dir":  # O16N_DATA_DIR is the default factory's
                values[f.name] = convert(key, hints[f.name], raw)
        for name, value in overrides.items():
            if value is not None:
                values[name] = convert(f"--{name.replace('_', '-')}", hints[name], value)
        return cls(**values)  # type: ignore[arg-type]


def convert(key: str, kind: Any, raw: object) -> object:
    """`raw` as a value of type `kind` (int, float, str, Path, a Literal, or one of them | None)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if raw in (None, ""):
            return None
        kind = options[0]
    if typing.get_origin(kind) is Literal:
        choices = typing.get_args(kind)
        if raw not in choices:
            raise ConfigError(key, f"expected one of {', '.join(map(str, choices))}, got {raw!r}")
        return raw
    if kind is bool:
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(key, f"expected true or false, got {raw!r}")
    if kind in (int, float):
        if isinstance(raw, kind) and not isinstance(raw, bool):
            return raw
        try:
            return kind(str(raw).strip())
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise ConfigError(key, f"expected {what}, got {raw!r}") from None
    if kind is Path:
        return Path(str(raw)).expanduser()
    return str(raw)
