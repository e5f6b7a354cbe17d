"""Limits on a worker's whole tree, and nothing left behind (issue #11.1, the "Limits leak" probes).

Memory and process count apply to everything a worker starts (cgroups where the server can make
them); a replaced or deleted service leaves no process of its own behind; a flood on stderr does
not reach the server's log.
"""

from __future__ import annotations

import secrets

import pytest
from isolation_support import backend, consume, ensure_bwrap, processes_with, publish, require_namespaces, unique, wait_until

ensure_bwrap()

SPAWN = (
    "import subprocess, os\n"
    "for i in range(count):\n"
    "    # plain children, new sessions and double forks: none of them may outlive the worker\n"
    "    if i % 3 == 0:\n        subprocess.Popen(['sleep', marker])\n"
    "    elif i % 3 == 1:\n        subprocess.Popen(['sleep', marker], start_new_session=True)\n"
    "    else:\n        subprocess.Popen(['sh', '-c', f'(setsid sleep {marker} &) ; exit 0'])\n"
    "started = count\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from server_process import LiveServer

    live = LiveServer(tmp_path_factory.mktemp("limits") / "data", worker_memory_mb=1024, worker_max_processes=64).start()
    with live.client() as client:
        require_namespaces(client)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def admin(server):
    with server.client() as client:
        yield client


def marker() -> str:
    """A sleep duration nobody else uses: it names the processes a test started."""
    return f"{7000 + secrets.randbelow(1000)}.{secrets.randbelow(10**6):06d}"


def test_subprocesses_do_not_outlive_a_replaced_worker(admin):
    """50 subprocesses (some in new sessions, some double-forked), then the worker crashes: all gone."""
    name, tag = unique(), marker()
    publish(admin, name, SPAWN + "if crash:\n    os._exit(3)", inputs={"count": "integer", "marker": "character", "crash": "logical"},
            outputs={"started": "integer"})
    assert consume(admin, name, count=50, marker=tag, crash=False).json()["outputParameters"] == {"started": 50}
    assert wait_until(lambda: len(processes_with(tag)) >= 50, 10)
    assert consume(admin, name, count=0, marker=tag, crash=True).status_code == 500  # the worker dies: replaced
    assert wait_until(lambda: not processes_with(tag), 10), f"{len(processes_with(tag))} processes survived"


def test_subprocesses_do_not_outlive_a_deleted_service(admin):
    name, tag = unique(), marker()
    publish(admin, name, SPAWN, inputs={"count": "integer", "marker": "character"}, outputs={"started": "integer"})
    assert consume(admin, name, count=20, marker=tag).json()["outputParameters"] == {"started": 20}
    assert wait_until(lambda: len(processes_with(tag)) >= 20, 10)
    assert admin.delete(f"/services/{name}/v1").status_code == 200
    assert wait_until(lambda: not processes_with(tag), 10), f"{len(processes_with(tag))} processes survived"


def test_memory_limit_holds_for_the_whole_tree(admin):
    """Three children writing 500 MB each cannot all hold it under a 1 GB worker limit."""
    if "cgroup" not in backend(admin)["workerIsolation"]["limits"]["memory"]:
        pytest.skip("no memory cgroup here: the limit applies per process (rlimit), not to the tree")
    child = "import time\nblock = b'\\x01' * (500 * 1024 * 1024)\nprint('held', flush=True)\ntime.sleep(4)"
    code = (
        f"import subprocess, sys\nchild = {child!r}\n"
        "kids = [subprocess.Popen([sys.executable, '-c', child], stdout=subprocess.PIPE) for _ in range(3)]\n"
        "held = sum(1 for k in kids if b'held' in k.communicate()[0] and k.returncode == 0)"
    )
    name = unique()
    publish(admin, name, code, outputs={"held": "integer"})
    answer = consume(admin, name)
    body = answer.json()
    if answer.status_code == 200:
        assert body["success"], body["errorMessage"]
        assert body["outputParameters"]["held"] < 3
    else:  # the kernel chose the worker itself: it is gone, and the answer says why
        assert answer.status_code == 500 and "memory" in body["errorMessage"], body


def test_process_count_limit_holds_for_the_whole_tree(admin):
    """A fork bomb stops at worker_max_processes (64 here) for the worker and everything it started."""
    code = (
        "import os, time\nstarted = 0\npids = []\n"
        "for _ in range(200):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    pids.append(pid)\n    started += 1\n"
        "for pid in pids:\n    os.kill(pid, 9)\n    os.waitpid(pid, 0)"
    )
    name = unique()
    publish(admin, name, code, outputs={"started": "integer"})
    answer = consume(admin, name).json()
    assert answer["success"], answer["errorMessage"]
    assert 0 < answer["outputParameters"]["started"] < 64


def test_a_flood_on_stderr_does_not_reach_the_servers_log(server, admin):
    """100 MB written to fd 2 (and by a child to its stdout) land in the worker's capped buffer."""
    size_before = server.log.stat().st_size
    code = ("import os, subprocess\nchunk = b'E' * (1 << 20)\nfor _ in range(100):\n    os.write(2, chunk)\n"
            "subprocess.run(['sh', '-c', 'head -c 20000000 /dev/zero'])\ndone = True")
    name = unique()
    publish(admin, name, code, outputs={"done": "logical"})
    answer = consume(admin, name).json()
    assert answer["outputParameters"] == {"done": True}, answer
    assert server.log.stat().st_size - size_before < 10_000
    assert b"EEEE" not in server.log.read_bytes()
