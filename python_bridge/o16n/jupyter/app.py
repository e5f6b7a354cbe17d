"""The Jupyter server extension app: configuration (``c.O16n.*``), wiring, start and stop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Integer, Unicode, default

from .connection import Connection
from .credentials import KernelCredentials
from .embedded import EmbeddedServer
from .handlers import HANDLERS
from .oidc import AUTH_METHODS, OidcConfigError, OidcSettings
from .publish import Publisher


class O16n(ExtensionApp):
    """Publish notebook code and objects to an o16n server from JupyterLab.

    Without ``server_url`` an o16n server is started with Jupyter (data in ``data_dir``) and used as
    ``admin``; with it, the user logs in to that server from the lab (or ``username``/``password``
    log in by themselves).
    """

    name = "o16n"
    load_other_extensions = True

    server_url = Unicode("", config=True, help="URL of a remote o16n server (env O16N_URL). "
                                               "Empty: start an embedded server with Jupyter.")
    username = Unicode("", config=True, help="User for the remote server (env O16N_USER); with password, "
                                             "Jupyter logs in by itself.")
    password = Unicode("", config=True, help="Password for username (env O16N_PASSWORD). Optional: "
                                             "without it the user logs in from the lab.")
    data_dir = Unicode(config=True, help="Data directory of the embedded server (database, snapshots, "
                                         "admin-password); default <Jupyter data dir>/o16n.")
    embedded_port = Integer(0, config=True, help="Port of the embedded server (0: the port it had last time when "
                                                 "it is free, else a free loopback port; kept in the data dir).")
    kernel_timeout = Float(30.0, config=True, help="Seconds a kernel may stay busy before listing, analyzing, "
                                                   "testing or capturing its objects gives 409.")
    test_timeout = Float(300.0, config=True, help="Seconds a Test run of service code may take in the kernel.")
    request_timeout = Float(300.0, config=True, help="Seconds one call to the o16n server may take.")
    capture_dir = Unicode("", config=True, help="Where kernels write serialized objects before upload "
                                                "(a private 0700 directory is made inside; default: the "
                                                "system temp dir). Needs room for the biggest publish.")
    jobs_dir = Unicode(config=True, help="Where publish jobs are kept, so they survive restarts; "
                                         "default <data_dir>/publish-jobs.")

    # OpenID Connect sign-in to a remote server (docs/jupyter-api.md): the relay gets bearer tokens
    # from the issuer and keeps them, as it keeps o16n's own.
    oidc_flow = Enum(["", "client_credentials", "device_code"], "", config=True,
                     help="Sign in to server_url with tokens from oidc_issuer: 'client_credentials' (by itself, "
                          "as the client) or 'device_code' (the user signs in at the provider; the lab shows "
                          "the code). Empty: user name and password.")
    oidc_issuer = Unicode("", config=True, help="The OpenID provider's issuer URL (https; http only on loopback).")
    oidc_client_id = Unicode("", config=True, help="The client (application) id registered at the provider.")
    oidc_client_secret = Unicode("", config=True, help="The client secret (client_credentials); prefer "
                                                       "oidc_client_secret_file.")
    oidc_client_secret_file = Unicode("", config=True, help="A file holding the client secret.")
    oidc_client_auth_method = Enum(list(AUTH_METHODS), "client_secret_post", config=True,
                                   help="How the client secret is sent to the token endpoint.")
    oidc_scope = Unicode("", config=True, help="The scope to ask for, e.g. 'api://o16n/.default' (Azure AD) "
                                               "or 'openid offline_access'.")
    oidc_resource = Unicode("", config=True, help="Sent as 'resource' (RFC 8707; Azure AD v1): the o16n API.")
    oidc_audience = Unicode("", config=True, help="Sent as 'audience' (Auth0, Okta style): the o16n API.")
    oidc_ca_file = Unicode("", config=True, help="PEM CA certificates for a provider behind a private CA.")

    @default("server_url")
    def _default_url(self) -> str:
        return os.environ.get("O16N_URL", "")

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "o16n")

    @default("jobs_dir")
    def _default_jobs_dir(self) -> str:
        return str(Path(self.data_dir).expanduser() / "publish-jobs")

    @default("username")
    def _default_username(self) -> str:
        return os.environ.get("O16N_USER", "")

    @default("password")
    def _default_password(self) -> str:
        return os.environ.get("O16N_PASSWORD", "")

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        assert serverapp is not None
        credentials = KernelCredentials(serverapp.runtime_dir)
        embedded = None
        if not self.server_url:
            embedded = EmbeddedServer(Path(self.data_dir).expanduser(), self.embedded_port or None, log=self.log)
            embedded.start()  # starts alongside Jupyter; handlers wait for it when needed
        url = self.server_url if "://" in self.server_url or not self.server_url else "http://" + self.server_url
        oidc, oidc_error = self._oidc_settings(embedded is not None)
        # Before any kernel starts: kernels inherit O16N_URL and O16N_CREDENTIALS_FILE.
        self.connection = Connection(url=url, embedded=embedded, credentials=credentials, log=self.log,
                                     request_timeout=self.request_timeout, oidc=oidc, oidc_error=oidc_error)
        self.connection.configure_auto_login(self.username or None, self.password or None)
        self.publisher = Publisher(self.connection, serverapp.kernel_manager, serverapp.root_dir,
                                   bool(getattr(serverapp.contents_manager, "allow_hidden", False)),
                                   self.kernel_timeout, self.capture_dir or None, Path(self.jobs_dir).expanduser())
        where = f"embedded server {embedded.url}" if embedded else f"remote server {url}"
        self.log.info("o16n: publishing to the %s", where)

    def _oidc_settings(self, embedded: bool) -> tuple[OidcSettings | None, str | None]:
        """The checked c.O16n.oidc_* traits, or the message naming the bad one (shown in the lab)."""
        if not self.oidc_flow:
            return None, None
        if embedded:
            self.log.warning("o16n: c.O16n.oidc_flow is ignored without c.O16n.server_url (the embedded server "
                             "has local users only)")
            return None, None
        try:
            return OidcSettings.from_traits(
                flow=self.oidc_flow, issuer=self.oidc_issuer, client_id=self.oidc_client_id,
                client_secret=self.oidc_client_secret, client_secret_file=self.oidc_client_secret_file,
                auth_method=self.oidc_client_auth_method, scope=self.oidc_scope, resource=self.oidc_resource,
                audience=self.oidc_audience, ca_file=self.oidc_ca_file, timeout=min(self.request_timeout, 30.0)), None
        except OidcConfigError as exc:
            self.log.error("o16n: %s", exc)
            return None, f"the OpenID Connect sign-in is not set up right: {exc}"

    def initialize_handlers(self) -> None:
        self.handlers.extend(HANDLERS)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self.connection.start_background()  # log in now rather than on the first request
        self.publisher.recover()  # jobs a previous run left in flight: remove what they created

    async def stop_extension(self) -> None:
        await self.publisher.stop()  # jobs roll back while the o16n server is still there
        await self.connection.stop()
