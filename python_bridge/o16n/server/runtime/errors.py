"""The runtime's one exception tree: what can go wrong when the server uses a worker.

    RuntimeFailure                base: every error the runtime raises on purpose
    ├── WorkerError               the worker died or broke the protocol; its whole tree is gone
    │   └── WorkerTimeout         it did not answer in time; its whole tree was killed
    ├── UserCodeError             an operation failed because of user data or code (an object that
    │                             does not unpickle, a snapshot that does not load, a file that is
    │                             too large); the worker lives on
    ├── PoolBusy                  no worker became free within the queue timeout
    │   └── SessionLimitReached   the node already runs `max_sessions` session workers
    ├── ShareExceeded             a per-user or per-service cap; `.limit_name` is the setting
    ├── ServiceInitError          loading a service's snapshot or running its initCode failed
    ├── SandboxUnavailable        worker_sandbox=required and the sandbox cannot be set up
    └── TooLarge                  bytes sent into a worker went past their limit (`.limit`)

Every exception has `.message`, a sentence fit for an API answer (it names no server path).
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkerError(RuntimeFailure):
    """The worker died or broke the protocol; it has been killed, with every process it started."""


class WorkerTimeout(WorkerError):
    """No answer within the timeout; the worker (tree) was killed."""


class UserCodeError(RuntimeFailure):
    """The operation failed because of user data or code; the worker lives on."""


class PoolBusy(RuntimeFailure):
    """No worker became free within the queue timeout (503 territory)."""


class SessionLimitReached(PoolBusy):
    """This node already runs as many session workers as it may (`max_sessions`)."""


class ShareExceeded(RuntimeFailure):
    """A fair-share cap stopped the request; `limit_name` is the setting that holds the cap (429)."""

    def __init__(self, limit_name: str, message: str) -> None:
        super().__init__(message)
        self.limit_name = limit_name


class ServiceInitError(RuntimeFailure):
    """Loading the service's snapshot or running its initCode failed."""


class SandboxUnavailable(RuntimeFailure):
    """worker_sandbox=required, and this machine cannot set the sandbox up: no user code runs."""


class TooLarge(RuntimeFailure):
    """Bytes streamed into a worker (an upload, an object) went past `limit`."""

    def __init__(self, limit: int, message: str) -> None:
        super().__init__(message)
        self.limit = limit
