"""Hand kernels their o16n server: ``O16N_URL`` and ``O16N_CREDENTIALS_FILE``.

The file (0600, in Jupyter's runtime dir) holds only a short-lived access token
``{"url", "access_token", "expires_on"}``; the refresh token never leaves the Jupyter server. The
extension rewrites the file before the token expires; `o16n.client` re-reads it when its token is
about to expire or after a 401. The variables are set in this process's environment, which kernels
started afterwards inherit (the previous values are restored when the extension stops).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV_URL = "O16N_URL"
ENV_FILE = "O16N_CREDENTIALS_FILE"


def write_private_json(path: Path, data: dict) -> None:
    """Write JSON atomically into a 0600 file (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.chmod(temp, 0o600)
    os.replace(temp, path)


class KernelCredentials:
    """The credentials file kernels read, and the environment that points them to it."""

    def __init__(self, runtime_dir: str | Path) -> None:
        self.path = Path(runtime_dir) / f"o16n-kernel-credentials-{os.getpid()}.json"
        self._saved_env: dict[str, str | None] | None = None
        self.written_token: str | None = None

    def export(self, url: str) -> None:
        """Point kernels started from now on at ``url`` and the credentials file."""
        if self._saved_env is None:
            self._saved_env = {k: os.environ.get(k) for k in (ENV_URL, ENV_FILE)}
        os.environ[ENV_URL] = url
        os.environ[ENV_FILE] = str(self.path)

    def write(self, url: str, access_token: str, expires_on: float | None) -> None:
        if access_token == self.written_token:
            return
        write_private_json(self.path, {"url": url, "access_token": access_token,
                                       "expires_on": int(expires_on) if expires_on else None})
        self.written_token = access_token

    def clear(self) -> None:
        """Logged out: kernels have no token any more."""
        self.path.unlink(missing_ok=True)
        self.written_token = None

    def restore(self) -> None:
        """Extension stopping: remove the file and put the environment back as it was."""
        self.clear()
        for key, value in (self._saved_env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = None
