"""Python sessions: each its own worker process, with code, console, files, workspace and snapshots."""

from __future__ import annotations

import io
import threading
import time
import zipfile

import dill
import pytest


@pytest.fixture
def session(admin):
    session_id = admin.post("/sessions", json={"name": "work"}).json()["sessionId"]
    yield session_id
    admin.delete(f"/sessions/{session_id}/force")


def run(admin, session_id, code, **extra):
    response = admin.post(f"/sessions/{session_id}/execute", json={"code": code, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_runtime_defaults_to_python_and_r_is_refused(admin):
    created = admin.post("/sessions")
    assert created.status_code == 201
    session_id = created.json()["sessionId"]
    assert any(s["id"] == session_id and s["runtimeType"] == "Python" for s in admin.get("/sessions").json())
    admin.delete(f"/sessions/{session_id}")
    refused = admin.post("/sessions", json={"runtimeType": "R"})
    assert refused.status_code == 400 and "Python" in refused.json()["message"]


def test_execute_keeps_state_and_captures_console(admin, session):
    first = run(admin, session, "total = 40\nprint('hello')")
    assert first == {"success": True, "errorMessage": "", "outputParameters": [], "consoleOutput": "hello\n", "changedFiles": []}
    second = run(admin, session, "total += extra", inputParameters=[{"name": "extra", "value": 2}], outputParameters=["total"])
    assert second["outputParameters"] == [{"name": "total", "value": 42}]
    assert admin.get(f"/sessions/{session}/console-output").json() == {"consoleOutput": ""}
    assert admin.get(f"/sessions/{session}/history").json() == ["total = 40\nprint('hello')", "total += extra"]


def test_an_exception_is_reported_and_the_session_lives_on(admin, session):
    failed = run(admin, session, "def f():\n    raise ValueError('bad value')\nprint('before')\nf()")
    assert failed["success"] is False
    assert "ValueError: bad value" in failed["errorMessage"] and "Traceback" in failed["errorMessage"]
    assert failed["consoleOutput"] == "before\n"
    assert run(admin, session, "x = 1", outputParameters=["x"])["outputParameters"] == [{"name": "x", "value": 1}]


def test_cancel_interrupts_a_running_execution(admin, session):
    answer = {}

    def long_call():
        answer["result"] = run(admin, session, "import time\nprint('started')\nfor _ in range(600):\n    time.sleep(0.1)")

    worker = threading.Thread(target=long_call)
    worker.start()
    # While it runs, the console shows what it printed so far.
    deadline = time.monotonic() + 30
    while admin.get(f"/sessions/{session}/console-output").json() != {"consoleOutput": "started\n"}:
        assert time.monotonic() < deadline, "the running execution's console never showed its output"
        time.sleep(0.1)
    assert admin.post(f"/sessions/{session}/cancel").status_code == 200
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert answer["result"]["success"] is False and "cancelled" in answer["result"]["errorMessage"]
    assert run(admin, session, "alive = True", outputParameters=["alive"])["outputParameters"][0]["value"] is True


def test_files_upload_list_download_delete(admin, session):
    uploaded = admin.post(f"/sessions/{session}/files", files={"file": ("data.csv", b"a,b\n1,2\n")})
    assert uploaded.status_code == 201
    assert admin.get(f"/sessions/{session}/files").json() == ["data.csv"]
    assert admin.get(f"/sessions/{session}/files/data.csv").content == b"a,b\n1,2\n"
    answer = run(admin, session, "rows = open('data.csv').read().splitlines()", outputParameters=["rows"])
    assert answer["outputParameters"][0]["value"] == ["a,b", "1,2"]
    written = run(admin, session, "open('out.txt', 'w').write('x')")
    assert written["changedFiles"] == ["out.txt"]
    assert admin.delete(f"/sessions/{session}/files/data.csv").status_code == 200
    assert admin.get(f"/sessions/{session}/files").json() == ["out.txt"]
    assert admin.get(f"/sessions/{session}/files/data.csv").status_code == 404


@pytest.mark.parametrize("name", ["..", "%2e%2e", "..%2fo16n.db", "%2e%2e%2f%2e%2e%2fsigning-key", "a%00b", "..%5csigning-key"])
def test_file_names_are_confined_to_the_session(admin, session, name):
    response = admin.get(f"/sessions/{session}/files/{name}")
    assert response.status_code in (400, 404, 405)  # 405: the client resolved '..' to the session URL
    assert b"signing" not in response.content and b"SQLite" not in response.content


def test_uploaded_names_are_reduced_to_plain_names(admin, session):
    admin.post(f"/sessions/{session}/files", files={"file": ("../../escape.txt", b"x")})
    assert admin.get(f"/sessions/{session}/files").json() == ["escape.txt"]


def test_a_planted_symlink_does_not_lead_out(admin, session, live_server):
    run(admin, session, f"import os\nos.symlink({str(live_server.data_dir / 'signing-key')!r}, 'key')")
    assert admin.get(f"/sessions/{session}/files/key").status_code in (400, 404)
    assert "key" not in admin.get(f"/sessions/{session}/files").json()


def test_workspace_objects_as_dill(admin, session):
    model = {"weights": [1.5, 2.5], "name": "toy"}
    assert admin.post(f"/sessions/{session}/workspace/model", content=dill.dumps(model),
                      headers={"content-type": "application/octet-stream"}).status_code == 200
    assert "model" in admin.get(f"/sessions/{session}/workspace").json()
    assert run(admin, session, "n = model['name']", outputParameters=["n"])["outputParameters"][0]["value"] == "toy"
    fetched = admin.get(f"/sessions/{session}/workspace/model")
    assert fetched.headers["content-type"] == "application/octet-stream"
    assert dill.loads(fetched.content) == model
    assert admin.delete(f"/sessions/{session}/workspace/model").status_code == 200
    assert admin.get(f"/sessions/{session}/workspace/model").status_code == 404
    garbage = admin.post(f"/sessions/{session}/workspace/bad", content=b"not a pickle")
    assert garbage.status_code == 400
    assert admin.get(f"/sessions/{session}/workspace/not-an-identifier").status_code == 400


def test_snapshot_zip_and_load_into_another_session(admin, session):
    run(admin, session, "kept = [1, 2, 3]\nstream = (i for i in kept)\nopen('notes.txt', 'w').write('n')")
    created = admin.post(f"/sessions/{session}/snapshot", json={"name": "mine"})
    assert created.status_code == 201
    snapshot_id = created.json()["snapshotId"]
    assert [s["name"] for s in created.json()["skippedObjects"]] == ["stream"]  # generators can't be pickled
    archive = zipfile.ZipFile(io.BytesIO(admin.get(f"/snapshots/{snapshot_id}").content))
    assert sorted(archive.namelist()) == ["files/notes.txt", "workspace/kept.dill"]
    other = admin.post("/sessions", json={}).json()["sessionId"]
    try:
        assert admin.post(f"/sessions/{other}/loadsnapshot/{snapshot_id}").status_code == 200
        assert run(admin, other, "k = kept", outputParameters=["k"])["outputParameters"][0]["value"] == [1, 2, 3]
        assert admin.get(f"/sessions/{other}/files").json() == ["notes.txt"]
    finally:
        admin.delete(f"/sessions/{other}")
    from_snapshot = admin.post("/sessions", json={"snapshotId": snapshot_id}).json()["sessionId"]
    try:
        assert run(admin, from_snapshot, "k = len(kept)", outputParameters=["k"])["outputParameters"][0]["value"] == 3
    finally:
        admin.delete(f"/sessions/{from_snapshot}")
    assert admin.delete(f"/snapshots/{snapshot_id}").status_code == 200


def test_close_and_force_close(admin):
    first = admin.post("/sessions", json={}).json()["sessionId"]
    second = admin.post("/sessions", json={}).json()["sessionId"]
    assert admin.delete(f"/sessions/{first}").status_code == 200
    assert admin.delete(f"/sessions/{second}/force").status_code == 200
    ids = [s["id"] for s in admin.get("/sessions").json()]
    assert first not in ids and second not in ids
    assert admin.post(f"/sessions/{first}/execute", json={"code": "1"}).status_code == 404


def test_a_session_whose_process_dies_is_gone(admin, session):
    died = admin.post(f"/sessions/{session}/execute", json={"code": "import os\nos._exit(1)"})
    assert died.status_code == 410 and "gone" in died.json()["message"]
    assert admin.post(f"/sessions/{session}/execute", json={"code": "1"}).status_code == 404


def test_execute_needs_code(admin, session):
    response = admin.post(f"/sessions/{session}/execute", json={"inputParameters": []})
    assert response.status_code == 400 and response.json()["fields"] == "code"


def test_user_code_cannot_touch_the_data_dir(admin, session, live_server):
    """The worker sandbox (namespaces, or the Landlock fallback) keeps user code out of the server's files."""
    sandbox = next(iter(admin.get("/status").json()["components"]["backends"]["components"].values()))
    if sandbox["details"]["workerSandbox"] not in ("namespaces", "landlock"):
        pytest.skip("neither the namespace sandbox nor Landlock is available here")
    data_dir = str(live_server.data_dir)
    (live_server.data_dir / "planted-secret").write_text("the server's own")  # a file that surely exists
    probes = {
        "secret": f"open({data_dir + '/planted-secret'!r}).read()",
        "database": f"open({data_dir + '/o16n.db'!r}, 'rb').read(16)",
        "listing": f"os.listdir({data_dir!r})",
        "artifacts": f"os.listdir({data_dir + '/artifacts'!r})",
        "write": f"open({data_dir + '/planted.py'!r}, 'w').write('x')",
    }
    for name, probe in probes.items():
        result = run(admin, session, f"import os\n{probe}")
        assert not result["success"] and "PermissionError" in result["errorMessage"], name
    allowed = run(admin, session, "import os, tempfile, sklearn\nopen('mine.txt', 'w').write('ok')\n"
                  "tempfile.NamedTemporaryFile().close()\nhost = open('/etc/hostname').read() != ''",
                  outputParameters=["host"])
    assert allowed["success"], allowed["errorMessage"]


def test_a_session_whose_process_dies_while_idle_is_gone_at_the_next_call(admin):
    """One meaning per situation: a session *is* its process (410 once it died, then 404); a
    service's worker is replaced (500 for that request, see test_services)."""
    session = admin.post("/sessions", json={}).json()["sessionId"]
    started = run(admin, session, "import os, threading\nthreading.Timer(0.3, os._exit, [1]).start()")
    assert started["success"], started
    time.sleep(1.5)
    gone = admin.get(f"/sessions/{session}/console-output")
    assert gone.status_code == 410 and "gone" in gone.json()["message"]
    assert session not in [s["id"] for s in admin.get("/sessions").json()]
    assert admin.get(f"/sessions/{session}/console-output").status_code == 404
