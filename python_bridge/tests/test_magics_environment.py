"""The magics' environment and realtime commands, in a real IPython shell against a real o16n
server: ``%o16n environment``, ``%%o16n publish --environment/--pin/--unpin``, ``%o16n
publish-model`` and ``%o16n environments``."""

from __future__ import annotations

import importlib.metadata
import time

import httpx
import pytest

from o16n.client import Environment

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "o16n")
    yield ip


def run(shell, code):
    result = shell.run_cell(code)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


@pytest.fixture
def iris(shell):
    import pandas as pd
    from sklearn import datasets, svm

    data = datasets.load_iris()
    frame = pd.DataFrame(data.data, columns=["a", "b", "c", "d"])
    shell.user_ns.update(clf=svm.SVC().fit(frame, data.target), X=frame, raw=svm.SVC(),
                         names=[str(n) for n in data.target_names])
    return frame


@pytest.fixture
def logged_in(shell, live_server, capsys, monkeypatch):
    monkeypatch.setenv("O16N_PASSWORD", live_server.admin_password)
    monkeypatch.delenv("O16N_CREDENTIALS_FILE", raising=False)
    run(shell, f"%o16n login {live_server.url} --user {live_server.admin_user}")
    assert "logged in" in capsys.readouterr().out
    yield live_server
    run(shell, "%o16n logout")


def test_environment_magic_reports_the_pins(shell, iris, capsys):
    env = run(shell, "%o16n environment clf,names")
    assert isinstance(env, Environment)
    assert env.get("scikit-learn").version == importlib.metadata.version("scikit-learn")
    assert "clf is a sklearn.svm.SVC" in env.to_text()
    changed = run(shell, "%o16n environment clf --pin attrs==24.2.0 --unpin numpy --python 3.12")
    assert "attrs" in changed and "numpy" not in changed and changed.spec()["python"] == "3.12"
    run(shell, "%o16n environment nope")
    assert "no such variable" in capsys.readouterr().err


def test_publish_flags_that_contradict_are_one_line(shell, logged_in, capsys):
    run(shell, "%%o16n publish X --version 1 --environment --no-environment --outputs y:int\ny = 1\n")
    err = capsys.readouterr().err
    assert "not both" in err and len(err.strip().splitlines()) == 1
    run(shell, "%%o16n publish X --version 1 --no-environment --pin six==1.16.0 --outputs y:int\ny = 1\n")
    assert "go with an environment" in capsys.readouterr().err


def test_publish_model_refusals(shell, iris, logged_in, capsys):
    run(shell, "%o16n publish-model RtM --version 1 --model nope")
    assert "no variable named 'nope'" in capsys.readouterr().err
    run(shell, "%o16n publish-model RtM --version 1 --model raw --sample X")
    assert "not fitted" in capsys.readouterr().err
    run(shell, "%o16n publish-model RtM --version 1")
    assert "--model" in capsys.readouterr().err


def _served(live_server, method: str, route: str, **kw) -> httpx.Response:
    token = live_server.login()["access_token"]
    return httpx.request(method, live_server.url + route, headers={"Authorization": f"Bearer {token}"}, **kw)


def test_publish_model_and_consume(shell, iris, logged_in, capsys):
    probe = _served(logged_in, "POST", "/realtime-services/probe/1", files={"model": ("m.onnx", b"x")})
    if "not supported by this server" in probe.text:
        pytest.fail("the o16n server does not serve the /realtime-services routes")
    name = f"MagicRt{int(time.time() * 1000) % 10**8}"
    run(shell, f"%o16n publish-model {name} --version 1 --model clf --sample X --description 'iris rt'")
    out = capsys.readouterr().out
    assert f"published realtime {name} 1" in out and "float_input: float[?,4]" in out, out
    try:
        result = run(shell, f"%o16n consume {name} 1 --inputData @X")
        assert result.success and result.output("outputData")["output_label"].tolist()[:1] == [0]
    finally:
        run(shell, f"%o16n delete {name} 1")


def test_publish_with_environment_prints_the_pins_and_builds(shell, logged_in, capsys):
    if _served(logged_in, "GET", "/environments/server").status_code != 200:
        pytest.fail("the o16n server does not serve GET /environments/server")
    name = f"MagicEnv{int(time.time() * 1000) % 10**8}"
    cell = (f"%%o16n publish {name} --version 1 --outputs v:str --pin six==1.16.0\n"
            "import six\nv = six.__version__\n")
    run(shell, cell)
    captured = capsys.readouterr()
    assert "environment: python" in captured.out and "six==1.16.0" in captured.out, captured
    assert f"published {name} 1" in captured.out and "environment " in captured.out
    try:
        assert run(shell, f"%o16n consume {name} 1")["v"] == "1.16.0"
        listed = run(shell, "%o16n environments")
        assert "package(s)" in listed.to_text()
    finally:
        run(shell, f"%o16n delete {name} 1")
    # without an environment: same Python as the server here, so no skew line
    run(shell, f"%%o16n publish {name} --version 2 --outputs v:str\nimport six\nv = six.__version__\n")
    captured = capsys.readouterr()
    assert f"published {name} 2" in captured.out and "version skew" not in captured.err
    run(shell, f"%o16n delete {name} 2")
