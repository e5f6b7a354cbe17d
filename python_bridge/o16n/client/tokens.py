"""Bearer tokens that come from outside o16n: what a ``token_provider`` may answer, and a provider
that runs a command.

``connect(url, token_provider=fn)`` calls ``fn()`` (no arguments) when it connects, again when the
token it holds is about to expire, and once more after the server answered 401. ``fn`` returns:

- a ``str``: the access token. When it is a JWT its ``exp`` claim (read, not verified: the server
  verifies) says when to ask again; an opaque token is kept until the server refuses it;
- a tuple ``(token, expires_on)``, ``expires_on`` in seconds since the epoch or ``None``.
  ``azure.identity``'s ``AccessToken`` is such a tuple, so ``lambda: credential.get_token(scope)``
  works as it is;
- a mapping with ``access_token`` and ``expires_in`` (seconds from now, as OAuth token endpoints
  and MSAL answer) or ``expires_on`` (seconds since the epoch). An MSAL-style ``{"error",
  "error_description"}`` answer becomes a `TokenProviderError` carrying the description.

Tokens are never part of an error message or a ``repr``.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .errors import TokenProviderError


class BearerToken(NamedTuple):
    """An access token and when it expires (seconds since the epoch, None: unknown)."""

    access_token: str
    expires_on: float | None = None

    def __repr__(self) -> str:  # never show the token itself
        return f"BearerToken(access_token=<{len(self.access_token)} characters>, expires_on={self.expires_on!r})"


TokenAnswer = str | tuple[str, float | int | None] | Mapping[str, Any]
TokenProvider = Callable[[], TokenAnswer]

_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


def hide_tokens(text: str) -> str:
    """Blank out anything that looks like a JWT (for messages quoting a command's stderr)."""
    return _JWT.sub("[token hidden]", text)


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, unverified (only to know when to ask for a new one); else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _number(value: Any, what: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TokenProviderError(f"the token provider's {what} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TokenProviderError(f"the token provider's {what} is not a number") from None


def bearer_token(answer: object, now: float | None = None) -> BearerToken:
    """Read a token provider's answer (see the module docstring); TokenProviderError when unusable."""
    now = time.time() if now is None else now
    if isinstance(answer, str):
        token, expires_on = answer.strip(), None
        if token:
            expires_on = jwt_expiry(token)
    elif isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], str):
        token, expires_on = answer[0].strip(), _number(answer[1], "expires_on")
    elif isinstance(answer, Mapping):
        if answer.get("error") and not answer.get("access_token"):
            why = answer.get("error_description") or ""
            raise TokenProviderError(f"the token provider answered an error: {answer['error']}" + (f": {why}" if why else ""))
        raw = answer.get("access_token")
        if not isinstance(raw, str):
            raise TokenProviderError("the token provider's answer has no access_token (a string)")
        token = raw.strip()
        expires_on = _number(answer.get("expires_on"), "expires_on")
        lifetime = _number(answer.get("expires_in"), "expires_in")
        if lifetime is not None:
            # the earlier of the two: a lifetime does not suffer from clock skew
            expires_on = now + lifetime if expires_on is None else min(expires_on, now + lifetime)
        if expires_on is None:
            expires_on = jwt_expiry(token)
    else:
        raise TokenProviderError(f"the token provider returned a {type(answer).__name__}: expected a token (str), "
                                 "(token, expires_on) or a dict with access_token")
    if not token:
        raise TokenProviderError("the token provider returned an empty token")
    if any(c.isspace() for c in token):
        raise TokenProviderError("the token provider returned text with blanks in it, not a token")
    return BearerToken(token, expires_on)


def ask(provider: Callable[[], object]) -> BearerToken:
    """Call a token provider; whatever it raises becomes a TokenProviderError naming the cause."""
    try:
        answer = provider()
    except TokenProviderError:
        raise
    except Exception as exc:
        raise TokenProviderError(f"the token provider failed: {type(exc).__name__}: {hide_tokens(str(exc))}") from exc
    return bearer_token(answer)


class TokenCommand:
    """A token provider that runs a command: its stdout is the token, or JSON with ``access_token``
    and ``expires_in`` / ``expires_on``.

    ``command`` is split like a shell would (``shlex``) and run without a shell, unless
    ``shell=True``. Errors name the program only (its arguments may hold a secret) and quote the
    end of its stderr; a command that fails never gets its stdout (which may hold a token) shown.
    """

    def __init__(self, command: str | Sequence[str], *, shell: bool = False, timeout: float = 120.0) -> None:
        if shell and not isinstance(command, str):
            raise ValueError("shell=True needs the command as one string")
        self.shell = shell
        self.timeout = timeout
        self.argv: list[str] = [] if shell else (shlex.split(command) if isinstance(command, str) else list(command))
        self.line = command if isinstance(command, str) else shlex.join(self.argv)
        if not (self.line.strip() if shell else self.argv):
            raise ValueError("the token command is empty")
        self.program = "the shell command" if shell else repr(self.argv[0])

    def __repr__(self) -> str:
        return f"TokenCommand({self.program}{', shell=True' if self.shell else ''})"

    def __call__(self) -> BearerToken:
        try:
            done = subprocess.run(self.line if self.shell else self.argv, shell=self.shell, capture_output=True,
                                  text=True, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise TokenProviderError(f"the token command {self.program} was not found") from None
        except PermissionError:
            raise TokenProviderError(f"the token command {self.program} cannot be run (permission denied)") from None
        except subprocess.TimeoutExpired:
            raise TokenProviderError(f"the token command {self.program} did not finish within {self.timeout:g} s") from None
        if done.returncode != 0:
            raise TokenProviderError(f"the token command {self.program} exited with code {done.returncode}"
                                     + _stderr_tail(done.stderr))
        out = done.stdout.strip()
        if not out:
            raise TokenProviderError(f"the token command {self.program} printed nothing on stdout" + _stderr_tail(done.stderr))
        if out.startswith("{"):
            try:
                answer: object = json.loads(out)
            except ValueError:
                raise TokenProviderError(f"the token command {self.program} printed something that starts like JSON "
                                         "but is not JSON") from None
        elif any(c.isspace() for c in out):
            raise TokenProviderError(f"the token command {self.program} printed several words or lines: it should "
                                     "print the token alone, or JSON with access_token")
        else:
            answer = out
        return bearer_token(answer)


def _stderr_tail(stderr: str, lines: int = 5, chars: int = 600) -> str:
    tail = "\n".join(line for line in stderr.strip().splitlines() if line.strip())
    tail = "\n".join(tail.splitlines()[-lines:])[-chars:]
    return f"; its stderr ends with:\n{hide_tokens(tail)}" if tail else ""
