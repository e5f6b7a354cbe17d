"""The wall around user code (issue #11.1), probed as a hostile Contributor would, on real servers.

Each test is one probe of the issue: a worker cannot see or signal the server or other workers,
cannot read the server's environment or data dir, does not share /dev/shm, /tmp or SysV IPC with
other workers, runs as a uid of its own (root server) without new privileges, and honours
worker_network. Where the machine cannot build the namespace sandbox the tests say so (skip), and
`worker_sandbox=required` is shown to refuse user code instead.
"""

from __future__ import annotations

import os
import threading

import pytest
from isolation_support import (
    backend,
    consume,
    ensure_bwrap,
    publish,
    require_namespaces,
    run,
    session,
    unique,
)

ensure_bwrap()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from server_process import LiveServer

    live = LiveServer(tmp_path_factory.mktemp("isolation") / "data").start()
    with live.client() as client:
        require_namespaces(client)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def admin(server):
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def alice(server):
    server.add_user("alice", "alice-Secret-123", "Contributor")
    with server.client("alice", "alice-Secret-123") as client:
        yield client


def test_status_reports_the_sandbox(admin):
    details = backend(admin)
    report = details["workerIsolation"]
    assert details["workerSandbox"] == "namespaces" and report["sandbox"] == "namespaces"
    assert {"pid", "mount", "ipc"} <= set(report["namespaces"])
    assert report["network"] == "host" and report["noNewPrivileges"] is True
    assert report["tool"].startswith("bubblewrap")
    assert "memory" in report["limits"] and "processes" in report["limits"] and report["treeKill"]
    assert str(os.sep + "tmp") not in str(report)  # no paths for Readers to see


def test_a_service_cannot_kill_the_server(server, admin):
    """`os.kill(os.getppid(), SIGKILL)` and a kill of the server's real pid change nothing."""
    name = unique()
    code = ("import os, signal\nresults = []\nfor pid in (os.getppid(), server_pid, 1):\n"
            "    try:\n        os.kill(pid, signal.SIGKILL)\n        results.append('sent')\n"
            "    except OSError as exc:\n        results.append(type(exc).__name__)\nparent = os.getppid()")
    publish(admin, name, code, inputs={"server_pid": "integer"}, outputs={"results": "vector", "parent": "integer"})
    answer = consume(admin, name, server_pid=server.process.pid).json()
    assert answer["success"], answer["errorMessage"]
    assert server.process.poll() is None
    assert answer["outputParameters"]["parent"] == 1  # its parent is the namespace's init, not the server
    # Neighbour requests still work.
    other = unique()
    publish(admin, other, "y = x + 1", inputs={"x": "integer"}, outputs={"y": "integer"})
    assert all(consume(admin, other, x=i).json()["outputParameters"] == {"y": i + 1} for i in range(20))


def test_a_service_cannot_see_or_kill_other_workers(server, admin, alice):
    """Only its own processes exist for it; another user's session survives its attempt."""
    victim = session(alice)
    run(alice, victim, "kept = 'alive'")
    from isolation_support import children

    host_pids = children(server.process.pid)
    name = unique()
    code = ("import os, signal\nvisible = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\nkilled = 0\n"
            "for pid in set(visible + host_pids) - {os.getpid()}:\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
            "        killed += 1\n    except OSError:\n        pass")
    publish(admin, name, code, inputs={"host_pids": "vector"}, outputs={"visible": "vector"})
    answer = consume(admin, name, host_pids=host_pids).json()
    assert answer["success"], answer["errorMessage"]
    assert len(answer["outputParameters"]["visible"]) <= 3  # its init, itself (and maybe a child)
    assert run(alice, victim, "k = kept", ["k"])["outputParameters"] == [{"name": "k", "value": "alive"}]
    assert server.process.poll() is None


def test_the_servers_environment_is_out_of_reach(server, admin):
    """/proc/<server pid>/environ (with O16N_ADMIN_PASSWORD in it) does not exist for a worker."""
    sid = session(admin)
    code = ("import os\nfound = []\nfor pid in [server_pid] + [p for p in os.listdir('/proc') if p.isdigit()]:\n"
            "    try:\n        found.append(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))\n"
            "    except OSError:\n        pass\nenv = '\\n'.join(found) + '\\n'.join(os.environ)")
    answer = run(admin, sid, code, ["env"], server_pid=server.process.pid)
    assert answer["success"], answer["errorMessage"]
    assert server.admin_password not in answer["outputParameters"][0]["value"]
    assert "O16N_" not in answer["outputParameters"][0]["value"]


def test_dev_shm_and_tmp_are_private_to_each_worker(admin, alice):
    writer, reader = unique(), unique()
    publish(alice, writer, "open('/dev/shm/o16n-probe', 'w').write('secret')\nopen('/tmp/o16n-probe', 'w').write('x')\nok = True",
            outputs={"ok": "logical"})
    publish(admin, reader, "import os\nseen = [p for p in ('/dev/shm/o16n-probe', '/tmp/o16n-probe') if os.path.exists(p)]",
            outputs={"seen": "vector"})
    assert consume(alice, writer).json()["outputParameters"] == {"ok": True}
    assert consume(admin, reader).json()["outputParameters"] == {"seen": []}


def test_sysv_ipc_is_private_to_each_worker(admin, alice):
    """A SysV shared-memory segment one worker creates does not exist in another (IPC namespace)."""
    code = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmget.restype = ctypes.c_int\n"
            "found = libc.shmget(ctypes.c_int(0x016E), ctypes.c_size_t(4096), ctypes.c_int(0o1600 if create else 0o600)) >= 0")
    maker, looker = unique(), unique()
    publish(alice, maker, code, inputs={"create": "logical"}, outputs={"found": "logical"})
    publish(admin, looker, code, inputs={"create": "logical"}, outputs={"found": "logical"})
    assert consume(alice, maker, create=True).json()["outputParameters"] == {"found": True}
    assert consume(alice, maker, create=False).json()["outputParameters"] == {"found": True}
    assert consume(admin, looker, create=False).json()["outputParameters"] == {"found": False}


def test_the_data_dir_and_homes_are_hidden_and_the_system_read_only(server, admin):
    sid = session(admin)
    data = str(server.data_dir)
    (server.data_dir / "planted-secret").write_text("the server's own")  # a secret file that surely exists
    probes = {
        "key": f"open({data + '/planted-secret'!r}).read()",
        "database": f"open({data + '/o16n.db'!r}, 'rb').read(16)",
        "listing": f"os.listdir({data!r})",
        "root home": "os.listdir('/root')",
        "write system": "open('/usr/o16n-planted', 'w')",
        "write etc": "open('/etc/o16n-planted', 'w')",
    }
    for label, probe in probes.items():
        answer = run(admin, sid, f"import os\nresult = {probe}", ["result"])
        if label == "root home":  # an empty tmpfs (the interpreter's dirs may be bound back in it)
            assert answer["success"] and all(not n.startswith(".ssh") for n in answer["outputParameters"][0]["value"]), label
            continue
        assert not answer["success"] and ("PermissionError" in answer["errorMessage"] or "OSError" in answer["errorMessage"]), label


def test_each_worker_runs_as_an_unprivileged_uid_of_its_own(admin):
    if os.geteuid() != 0:
        pytest.skip("the server is not root here: workers keep its uid inside their own user namespace")
    code = ("import os\nuid = os.getuid()\nstatus = open('/proc/self/status').read()\n"
            "nnp = [l.split()[1] for l in status.splitlines() if l.startswith('NoNewPrivs')][0]\n"
            "caps = [l.split()[1] for l in status.splitlines() if l.startswith('CapEff')][0]")
    uids = set()
    for _ in range(2):
        sid = session(admin)
        answer = run(admin, sid, code, ["uid", "nnp", "caps"])
        values = {p["name"]: p["value"] for p in answer["outputParameters"]}
        assert values["uid"] != 0 and values["nnp"] == "1" and int(values["caps"], 16) == 0, values
        uids.add(values["uid"])
    assert len(uids) == 2  # one uid per worker


@pytest.mark.parametrize("policy", ["host", "none"])
def test_worker_network_policy(server_factory, policy):
    live = server_factory(worker_network=policy)
    with live.client() as client:
        require_namespaces(client)
        assert backend(client)["workerIsolation"]["network"] == policy
        sid = session(client)
        code = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', port), timeout=5).close()\n    reached = True\n"
                "except OSError:\n    reached = False")
        answer = run(client, sid, code, ["reached"], port=live.port)
        assert answer["outputParameters"][0]["value"] is (policy == "host")


def test_required_refuses_user_code_without_the_sandbox(server_factory):
    """worker_sandbox=required on a machine without bubblewrap: no session, no consume, a clear reason."""
    live = server_factory(worker_sandbox="required", worker_bwrap="/nonexistent/bwrap")
    with live.client() as client:
        details = backend(client)
        assert details["workerSandbox"] == "none" and details["workerIsolation"]["warnings"]
        refused = client.post("/sessions", json={})
        assert refused.status_code == 503 and "required" in refused.json()["message"]
        name = unique()
        publish(client, name, "y = 1", outputs={"y": "integer"})
        answer = consume(client, name)
        assert answer.status_code == 503 and "required" in answer.json()["errorMessage"]


def test_auto_falls_back_to_landlock_and_says_so(server_factory):
    live = server_factory(worker_bwrap="/nonexistent/bwrap")
    with live.client() as client:
        details = backend(client)
        if details["workerSandbox"] != "landlock":
            pytest.skip(f"this kernel has no Landlock either: {details['workerIsolation']['warnings']}")
        assert any("Landlock" in w for w in details["workerIsolation"]["warnings"])
        sid = session(client)
        (live.data_dir / "planted-secret").write_text("the server's own")
        answer = run(client, sid, f"open({str(live.data_dir / 'planted-secret')!r}).read()")
        assert not answer["success"] and "PermissionError" in answer["errorMessage"]


def test_sessions_keep_working_while_a_neighbour_misbehaves(server, admin, alice):
    """A crash loop next door (a worker killed and replaced again and again) costs nobody else."""
    crasher = unique()
    publish(alice, crasher, "import os\nos._exit(9)")
    mine = session(admin)
    stop = threading.Event()

    def crash() -> None:
        while not stop.is_set():
            consume(alice, crasher)

    thread = threading.Thread(target=crash)
    thread.start()
    try:
        for i in range(10):
            assert run(admin, mine, f"v = {i}", ["v"])["outputParameters"][0]["value"] == i
    finally:
        stop.set()
        thread.join()
