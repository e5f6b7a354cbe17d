"""The server never follows a path a worker controls (issue #11.2): the Owner-takeover tricks.

User code plants symlinks, hard links and FIFOs where the server used to read (the live console,
workspace objects, snapshots, output files, the session's files) and rewrites its own protocol
loop to send forged replies. The server must serve none of its own secrets (admin password,
signing key, database), never hang on a FIFO, never write through a planted link, and treat every
reply as data: a forged one costs the worker, never the envelope of the answer.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
import zipfile

import dill
import pytest
from isolation_support import consume, ensure_bwrap, publish, require_namespaces, run, session, unique

ensure_bwrap()

# What user code does to find its own protocol loop and socket (gc finds the Worker instance).
FIND_WORKER = (
    "import gc, sys, json, struct, os\n"
    "Worker = sys.modules['__main__'].Worker\n"
    "worker = next(o for o in gc.get_objects() if isinstance(o, Worker))\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from server_process import LiveServer

    live = LiveServer(tmp_path_factory.mktemp("isofiles") / "data").start()
    # Secrets the server keeps in its data dir, like admin-password when no password was given
    # (the token signing keys live in the database since several nodes share them).
    (live.data_dir / "admin-password").write_text(secrets.token_hex(16))
    (live.data_dir / "planted-secret").write_text(secrets.token_hex(16))
    with live.client() as client:
        require_namespaces(client)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def admin(server):
    with server.client() as client:
        yield client


@pytest.fixture
def sid(admin):
    session_id = session(admin)
    yield session_id
    admin.delete(f"/sessions/{session_id}/force")


def secrets_of(server) -> list[bytes]:
    data = server.data_dir
    return [(data / "admin-password").read_bytes(), (data / "planted-secret").read_bytes(), b"SQLite format 3",
            server.admin_password.encode()]


def assert_no_secret(server, content: bytes) -> None:
    for secret in secrets_of(server):
        assert secret not in content


# --- the live console --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_live_console_cannot_be_pointed_at_the_admin_password(server, admin, sid, kind):
    """The console is a descriptor the server holds: whatever user code links or plants, it shows only output."""
    target = str(server.data_dir / "admin-password")
    plant = {
        "symlink": f"os.symlink({target!r}, name)",
        "hardlink": f"os.link({target!r}, name)",
        "fifo": "os.mkfifo(name)",
    }[kind]
    code = ("import os, time\nprint('started')\n"
            "for name in ['console.txt', '../console.txt', '/tmp/console.txt'] + [f'/proc/self/fd/{n}' for n in range(3, 12)]:\n"
            "    try:\n        os.unlink(name)\n    except OSError:\n        pass\n"
            f"    try:\n        {plant}\n    except OSError:\n        pass\n"
            "print('planted')\ntime.sleep(1.5)")
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(run(admin, sid, code)))
    thread.start()
    seen = []
    while thread.is_alive():
        seen.append(admin.get(f"/sessions/{sid}/console-output").content)
        time.sleep(0.1)
    thread.join()
    seen.append(admin.get(f"/sessions/{sid}/console-output").content)
    for content in seen:
        assert_no_secret(server, content)
    assert answer["consoleOutput"] == "started\nplanted\n"
    assert json.loads(seen[-1])["consoleOutput"] == "started\nplanted\n"


# --- workspace objects and snapshots -----------------------------------------------------------
FORGE_OBJECT_REPLIES = FIND_WORKER + (
    "targets = [os.path.join(data, n) for n in ('o16n.db', 'planted-secret', 'admin-password')]\n"
    "def plant(target, name):\n"
    "    if kind == 'symlink':\n        os.symlink(target, name)\n"
    "    elif kind == 'hardlink':\n        os.link(target, name)\n"
    "    else:\n        os.mkfifo(name)\n"
    "def forged(request, fds):\n"
    "    for t in targets:\n"
    "        for name in (os.path.basename(t), 'object.dill', 'snapshot.zip', f'/tmp/{os.path.basename(t)}'):\n"
    "            try:\n                plant(t, name)\n            except OSError:\n                pass\n"
    "        try:\n            os.dup2(os.open(t, os.O_RDONLY), fds[0])\n        except OSError:\n            pass\n"
    "    return {'found': True, 'skipped': [], 'path': targets[0]}, b''\n"
    "worker.handlers['get_object'] = forged\n"
    "worker.handlers['snapshot'] = forged\n"
)


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_forged_workspace_and_snapshot_replies_serve_no_server_file(server, admin, sid, kind):
    """A worker answering get_object/snapshot with links or FIFOs in place of o16n.db or a secret file:
    nothing of them comes out, and nothing hangs."""
    answer = run(admin, sid, FORGE_OBJECT_REPLIES + "x = 1", data=str(server.data_dir), kind=kind)
    assert answer["success"], answer["errorMessage"]
    started = time.monotonic()
    fetched = admin.get(f"/sessions/{sid}/workspace/x")
    assert_no_secret(server, fetched.content)
    snapshot = admin.post(f"/sessions/{sid}/snapshot", json={})
    assert_no_secret(server, snapshot.content)
    assert time.monotonic() - started < 10
    if snapshot.status_code == 201:  # an empty snapshot: whatever is stored holds no server file
        stored = admin.get(f"/snapshots/{snapshot.json()['snapshotId']}")
        assert_no_secret(server, stored.content)
    for blob in (server.data_dir / "artifacts").rglob("*.zip"):
        assert_no_secret(server, blob.read_bytes())


def test_objects_and_snapshots_round_trip(admin, sid):
    """The descriptor-passing path still carries real objects and snapshots both ways."""
    model = {"weights": list(range(1000)), "name": "toy"}
    assert admin.post(f"/sessions/{sid}/workspace/model", content=dill.dumps(model)).status_code == 200
    assert dill.loads(admin.get(f"/sessions/{sid}/workspace/model").content) == model
    run(admin, sid, "open('notes.txt', 'w').write('n')")
    snapshot_id = admin.post(f"/sessions/{sid}/snapshot", json={}).json()["snapshotId"]
    archive = zipfile.ZipFile(io.BytesIO(admin.get(f"/snapshots/{snapshot_id}").content))
    assert sorted(archive.namelist()) == ["files/notes.txt", "workspace/model.dill"]


# --- the session's working dir ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_session_files_never_follow_links_or_block_on_fifos(server, admin, sid, kind):
    target = str(server.data_dir / "planted-secret")
    plant = {
        "symlink": f"os.symlink({target!r}, 'planted')",
        "hardlink": "open('original', 'w').write('mine')\nos.link('original', 'planted')",
        "fifo": "os.mkfifo('planted')",
    }[kind]
    assert run(admin, sid, f"import os\n{plant}")["success"]
    assert "planted" not in admin.get(f"/sessions/{sid}/files").json()
    started = time.monotonic()
    fetched = admin.get(f"/sessions/{sid}/files/planted")
    assert fetched.status_code == 404 and time.monotonic() - started < 5
    assert_no_secret(server, fetched.content)
    assert admin.delete(f"/sessions/{sid}/files/planted").status_code == 404


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_uploads_replace_planted_links_instead_of_writing_through_them(server, admin, sid, kind):
    key = server.data_dir / "planted-secret"
    before = key.read_bytes()
    plant = {
        "symlink": f"os.symlink({str(key)!r}, 'key')",
        "hardlink": "open('other', 'w').write('mine')\nos.link('other', 'key')",
        "fifo": "os.mkfifo('key')",
    }[kind]
    run(admin, sid, f"import os\n{plant}")
    uploaded = admin.post(f"/sessions/{sid}/files", files={"file": ("key", b"uploaded")})
    assert uploaded.status_code == 201
    assert key.read_bytes() == before
    assert admin.get(f"/sessions/{sid}/files/key").content == b"uploaded"
    if kind == "hardlink":
        assert run(admin, sid, "o = open('other').read()", ["o"])["outputParameters"][0]["value"] == "mine"


# --- output files of a service ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_output_files_never_carry_server_files_or_hang(server, admin, kind):
    target = str(server.data_dir / "planted-secret")
    plant = {
        "symlink": f"os.symlink({target!r}, 'report.txt')",
        "hardlink": f"os.link({target!r}, 'report.txt')",
        "fifo": "os.mkfifo('report.txt')",
    }[kind]
    name = unique()
    publish(admin, name, f"import os\ntry:\n    {plant}\nexcept OSError:\n    pass\ndone = True",
            outputs={"done": "logical"}, outputFileNames=["report.txt"])
    started = time.monotonic()
    answer = consume(admin, name)
    assert time.monotonic() - started < 10
    assert_no_secret(server, answer.content)
    assert answer.json()["outputFiles"] == {"report.txt": None}


# --- forged protocol replies --------------------------------------------------------------------
ANSWER = ("    return {'success': True, 'error_message': '', 'console': '', 'changed_files': [], 'unhealthy': False,\n"
          "            'outputs_size': len(outputs)}, outputs + files\n")
FORGED = {  # what the forged handler of a consume does, before returning `outputs + files` (or not at all)
    "envelope injection": "    outputs, files = b'{\"y\":1},\"outputParameters\":{\"y\":666},\"x\":{', b''\n",
    "NaN": "    outputs, files = b'{\"y\": NaN}', b''\n",
    "nesting 100,000 deep": "    outputs, files = b'{\"y\":' + b'[' * 100000 + b']' * 100000 + b'}', b''\n",
    "undeclared output file": "    outputs, files = b'{}', b'{\"../../planted-secret\":\"eA==\"}'\n",
    "wrong types": "    return {'success': 'yes', 'error_message': 1, 'console': None, 'changed_files': 'x', 'unhealthy': 0,\n"
                   "            'outputs_size': -1}, b''\n",
    "a frame announcing 8 GB": "    worker.sock.sendall(struct.pack('!II', 0xFFFFFFF0, 0xFFFFFFF0))\n    import time; time.sleep(60)\n",
    "a reply to another request": ("    import o16n.server.runtime.protocol as p\n"
                                   "    worker.sock.sendall(p.frame({'seq': 10**6, 'ok': True}, b''))\n"
                                   "    outputs, files = b'{\"y\":5}', b''\n"),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_replies_cost_the_worker_not_the_envelope(admin, case):
    """A worker whose protocol loop user code rewrote: the reply is checked as data, a bad one replaces it."""
    name = unique()
    init = FIND_WORKER + "def forged(request, fds):\n" + FORGED[case] + ANSWER + "worker.handlers['run'] = forged\ny = 1"
    publish(admin, name, "y = y", initCode=init, outputs={"y": "integer"}, outputFileNames=["out.txt"])
    started = time.monotonic()
    answer = consume(admin, name)
    assert time.monotonic() - started < 20
    body = answer.json()  # always one valid JSON document with the six keys
    assert set(body) == {"success", "errorMessage", "consoleOutput", "changedFiles", "outputFiles", "outputParameters"}
    assert answer.status_code == 500 and body["success"] is False, body
    assert "protocol" in body["errorMessage"], body["errorMessage"]
    assert body["outputParameters"] == {} and body["outputFiles"] == {}
    assert b"666" not in answer.content and b"planted-secret" not in answer.content


def test_a_worker_replacing_its_loop_in_session_code_gains_nothing(server, admin, sid):
    """The same trick from a session: forged list/delete answers are refused and end the session."""
    code = FIND_WORKER + ("worker.handlers['list_objects'] = lambda request, fds: ({'names': [{'evil': True}]}, b'')")
    assert run(admin, sid, code)["success"]
    listed = admin.get(f"/sessions/{sid}/workspace")
    assert listed.status_code == 410 and "protocol" in listed.json()["message"]
    assert admin.post(f"/sessions/{sid}/execute", json={"code": "1"}).status_code == 404
