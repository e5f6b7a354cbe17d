"""Run the `inkernel` package in a notebook kernel and read its answer from a file.

The code is executed silently (no history, no execution count, no output in the notebook) through
a kernel client of Jupyter's own kernel manager. The answer travels through a file in a private
0700 directory, never through iopub, so big answers and the serialized data never pass the message
bus. A kernel that is dead gives `KernelUnavailable` at once; one still busy with a user's cell
after ``timeout`` seconds gives it too (the request then does nothing when it finally runs).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .errors import KernelCodeFailed, KernelUnavailable, RelayError

__all__ = ["KernelCodeFailed", "KernelUnavailable", "run_in_kernel", "private_dir", "remove_dir", "INKERNEL", "WIRE"]

_HERE = Path(__file__).resolve().parent
# Sent into kernels as source, loaded there as private packages (inkernel/loader.py), dependencies first.
INKERNEL_MODULES = ("common", "livetypes", "pins", "onnxmodel", "listing", "guess", "objects", "cell", "function", "testrun", "loader", "")
WIRE_MODULES = ("errors", "names", "types", "values", "binding")


def _bundle(directory: Path, modules: tuple[str, ...], prefix: str) -> dict[str, Any]:
    sources = [(m, (directory / (f"{m}.py" if m else "__init__.py")).read_text(encoding="utf-8")) for m in modules]
    digest = hashlib.sha256(repr(sources).encode()).hexdigest()[:16]
    return {"name": prefix + digest, "modules": sources}


INKERNEL = _bundle(_HERE / "inkernel", INKERNEL_MODULES, "__o16n_inkernel_")
WIRE = _bundle(_HERE.parent / "wire", WIRE_MODULES, "__o16n_wire_")
_LOADER = (_HERE / "inkernel" / "loader.py").read_text(encoding="utf-8")


def private_dir(parent: str | None = None, prefix: str = "o16n-") -> Path:
    """A fresh 0700 directory (mkdtemp creates it 0700) for the kernel's answer and data."""
    if parent:
        os.makedirs(parent, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _code_for(request: dict[str, Any]) -> str:
    # One expression binding no name: exec gets a private namespace, the user's variables stay as they are.
    return (f"(lambda ns: (exec(compile({_LOADER!r}, '<o16n loader>', 'exec'), ns), "
            f"ns['load_bundle']({INKERNEL!r}).main(get_ipython().user_ns, {request!r})))({{'__name__': '__o16n__'}})")


async def run_in_kernel(kernel_manager: Any, kernel_id: str, request: dict[str, Any], workdir: Path,
                        timeout: float, run_timeout: float = 3600.0) -> dict[str, Any]:
    """Execute ``inkernel.main(user_ns, request)`` in the kernel; return its JSON answer.

    A request with ``wire=True`` gets the wire vocabulary's source along (analyze, test).

    ``timeout``: how long the kernel may stay busy before our code starts; ``run_timeout``: how
    long our code may then run (capturing big objects takes a while).
    """
    if kernel_id not in kernel_manager:
        raise KernelUnavailable(f"there is no kernel {kernel_id}", status=404)
    km = kernel_manager.get_kernel(kernel_id)
    if not await _alive(km):
        raise KernelUnavailable(f"kernel {kernel_id} is dead: restart it, then try again")
    tag = os.urandom(6).hex()
    result_file = workdir / f"answer-{tag}.json"
    started_file = workdir / f"started-{tag}"
    deadline = time.time() + timeout
    request = {**request, "result_file": str(result_file), "started_file": str(started_file), "deadline": deadline}
    if request.get("wire"):
        request["wire"] = WIRE
    client = km.client()
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        msg_id = client.execute(_code_for(request), silent=True, store_history=False, allow_stdin=False)
        reply = await _wait_reply(client, km, msg_id, deadline, kernel_id, started_file, run_timeout)
    finally:
        client.stop_channels()
        started_file.unlink(missing_ok=True)
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise KernelCodeFailed(f"{content.get('ename', 'error')}: {content.get('evalue', '')}".strip())
    try:
        answer = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KernelCodeFailed(f"the kernel wrote no answer ({exc})") from None
    finally:
        result_file.unlink(missing_ok=True)
    if isinstance(answer, dict) and answer.get("error") and len(answer) <= 2:
        raise KernelCodeFailed(str(answer["error"]))
    if isinstance(answer, dict) and isinstance(answer.get("refused"), dict):
        refused = answer["refused"]
        raise RelayError(400, str(refused.get("message")), refused.get("field"))
    return answer


async def _alive(km: Any) -> bool:
    try:
        alive = km.is_alive()
        return bool(await alive) if asyncio.iscoroutine(alive) else bool(alive)
    except Exception:
        return False


async def _wait_reply(client: Any, km: Any, msg_id: str, deadline: float, kernel_id: str,
                      started_file: Path, run_timeout: float) -> dict[str, Any]:
    """Wait for our execute_reply, checking every second that the kernel is still alive."""
    running = False
    while True:
        if not running and started_file.exists():  # our code runs: the kernel is no longer busy
            running, deadline = True, time.time() + run_timeout
        left = deadline - time.time()
        if left <= 0 and running:
            raise KernelUnavailable(f"kernel {kernel_id} did not finish within {run_timeout:.0f} s")
        if left <= 0:
            raise KernelUnavailable(f"kernel {kernel_id} stayed busy: wait for the running cell to finish "
                                    "(or interrupt it), then try again")
        try:
            reply = await client.get_shell_msg(timeout=min(1.0, left))
        except Exception:  # queue.Empty on timeout
            if not await _alive(km):
                raise KernelUnavailable(f"kernel {kernel_id} died while answering") from None
            continue
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return reply
