"""Tests of the %o16n / %%o16n IPython magics, in a real IPython shell."""

from __future__ import annotations

import sys
import time

import pandas as pd
import pytest

from o16n.client import RESULT_MIME, ServiceResult
from o16n.client.client import ServiceList
from o16n.magics import MagicError, parse_consume, parse_params, parse_value, split_cell


# ====================================================================== parsing (no server)
def test_parse_params_keeps_order_and_maps_types():
    params = parse_params("b:vector, a:float,c:str,d:data.frame,e:integer")
    assert [(n, t.wire) for n, t in params.items()] == [
        ("b", "vector"), ("a", "numeric"), ("c", "character"), ("d", "data.frame"), ("e", "integer")]
    assert parse_params("") == {}
    with pytest.raises(MagicError, match="NAME:TYPE"):
        parse_params("a")
    with pytest.raises(MagicError, match="unknown parameter type"):
        parse_params("a:complex")


def test_split_cell_convention():
    cell = "import math\nK = 2\n# --- code ---\ny = x * K\n"
    assert split_cell(cell, True) == ("import math\nK = 2\n", "y = x * K\n")
    assert split_cell(cell, False) == (None, cell)
    with pytest.raises(MagicError, match="# --- code ---"):
        split_cell("y = x\n", True)


def test_parse_consume_values():
    ns = {"df": pd.DataFrame({"a": [1]})}
    name, version, inputs = parse_consume(["Iris", "v1", "--flower_data", "[1, 2.5]", "--label", "hello",
                                           "--n=3", "--flag", "true", "--frame", "@df"], ns)
    assert (name, version) == ("Iris", "v1")
    assert inputs["flower_data"] == [1, 2.5] and inputs["label"] == "hello" and inputs["n"] == 3
    assert inputs["flag"] is True and inputs["frame"] is ns["df"]
    assert parse_consume(["Iris"], {}) == ("Iris", None, {})
    with pytest.raises(MagicError):
        parse_consume(["--x", "1"], {})
    with pytest.raises(MagicError, match="no value"):
        parse_consume(["Iris", "--x"], {})
    assert parse_value('"quoted"') == "quoted" and parse_value("{bad json") == "{bad json"


# ====================================================================== a real IPython shell
@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    import o16n
    ip = InteractiveShell.instance()
    # `%load_ext o16n` once the package exposes load_ipython_extension (test_load_ext_o16n checks it)
    ip.run_line_magic("load_ext", "o16n" if hasattr(o16n, "load_ipython_extension") else "o16n.magics")
    yield ip


def test_load_ext_o16n():
    from IPython.core.interactiveshell import InteractiveShell

    import o16n
    assert hasattr(o16n, "load_ipython_extension"), "o16n/__init__.py must expose load_ipython_extension"
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "o16n")
    assert "o16n" in ip.magics_manager.magics["line"] and "o16n" in ip.magics_manager.magics["cell"]


def run(shell, code):
    result = shell.run_cell(code)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


def test_errors_are_one_line(shell, capsys, monkeypatch):
    for var in ("O16N_URL", "O16N_USER", "O16N_PASSWORD", "O16N_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    magics = shell.magics_manager.registry["O16nMagics"]
    saved, magics.client = magics.client, None
    try:
        assert run(shell, "%o16n consume Nothing --x 1") is None
        err = capsys.readouterr().err
        assert err.startswith("o16n: not logged in") and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
        run(shell, "%o16n frobnicate")
        assert "unknown command" in capsys.readouterr().err
        run(shell, "%o16n publish X")
        assert "cell magic" in capsys.readouterr().err
    finally:
        magics.client = saved


def test_live_magics_publish_consume_batch_delete(shell, live_server, capsys, monkeypatch):
    from sklearn import datasets, svm
    monkeypatch.setenv("O16N_PASSWORD", live_server.admin_password)
    run(shell, f"%o16n login {live_server.url} --user {live_server.admin_user}")
    assert "logged in" in capsys.readouterr().out
    run(shell, "%o16n status")
    assert "server status" in capsys.readouterr().out

    iris = datasets.load_iris()
    shell.user_ns["clf"] = svm.SVC().fit(iris.data, iris.target)
    shell.user_ns["names"] = ["setosa", "versicolor", "virginica"]
    name = f"MagicIris{int(time.time()) % 100000}"
    cell = (f"%%o16n publish {name} --version v1 --description 'iris via magic' "
            "--inputs flower_data:vector --outputs iris_type:str --objects clf,names --init-cell\n"
            "import numpy\n"
            "# --- code ---\n"
            "iris_type = names[int(clf.predict(numpy.array([flower_data]))[0])]\n")
    run(shell, cell)
    out = capsys.readouterr()
    assert f"published {name} v1" in out.out, out.err
    try:
        result = run(shell, f'r = %o16n consume {name} v1 --flower_data "[5.1, 3.5, 1.4, 0.2]"\nr')
        assert isinstance(result, ServiceResult) and result.success, result
        assert result["iris_type"] == "setosa"
        latest = run(shell, f'%o16n consume {name} --flower_data "[7, 3.2, 4.7, 1.4]"')
        assert latest["iris_type"] == "versicolor"
        bundle = latest._repr_mimebundle_()
        assert bundle[RESULT_MIME]["outputParameters"] == {"iris_type": "versicolor"}
        assert {"text/html", "text/plain"} <= set(bundle)

        listed = run(shell, f"%o16n services {name}")
        assert isinstance(listed, ServiceList) and [s["version"] for s in listed] == ["v1"]
        assert "<table" in listed._repr_html_() and name in listed.to_text()
        assert listed._repr_mimebundle_()["application/vnd.o16n.services+json"][0]["name"] == name

        swagger = run(shell, f"%o16n swagger {name} v1")
        assert swagger["info"]["title"] == name
        assert swagger._repr_mimebundle_()["application/vnd.o16n.swagger+json"]["info"]["title"] == name

        shell.user_ns["flowers"] = pd.DataFrame({"flower_data": [list(row) for row in iris.data[:20]]})
        done = run(shell, f"%o16n batch {name} v1 --from flowers --parallel 4")
        assert done.state == "Complete" and done.total_item_count == 20
        assert done.outputs("iris_type")[:3] == ["setosa"] * 3
        assert "20/20" in capsys.readouterr().err  # the progress bar

        run(shell, f"%o16n consume {name} v1 --flower_data 7")  # bad input: one line, no traceback
        err = capsys.readouterr().err
        assert err.startswith("o16n: ") and "flower_data" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    finally:
        run(shell, f"%o16n delete {name} v1")
    assert f"deleted {name} v1" in capsys.readouterr().out
    assert run(shell, f"%o16n consume {name} v1 --flower_data [1]") is None
    assert capsys.readouterr().err.startswith("o16n: ")
    run(shell, "%o16n logout")
    assert "logged out" in capsys.readouterr().out


def test_live_login_prompts_for_password(shell, live_server, capsys, monkeypatch):
    import getpass
    monkeypatch.delenv("O16N_PASSWORD", raising=False)
    monkeypatch.delenv("O16N_CREDENTIALS_FILE", raising=False)
    asked = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": asked.append(prompt) or live_server.admin_password)
    run(shell, f"%o16n login {live_server.url} --user {live_server.admin_user}")
    assert asked and "admin" in asked[0]
    assert "logged in" in capsys.readouterr().out
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "wrong")
    run(shell, f"%o16n login {live_server.url} --user {live_server.admin_user}")
    err = capsys.readouterr().err
    assert err.startswith("o16n: ") and len(err.strip().splitlines()) == 1
    run(shell, "%o16n logout")


# ====================================================================== --token-command (a real OpenID provider)
FETCH_TOKEN = '''
"""Fetch a client-credentials token from the test provider; print the provider's JSON answer, or
the token alone with --plain. Counts its runs in COUNTER."""
import argparse, json, sys
import httpx
p = argparse.ArgumentParser()
p.add_argument("issuer"); p.add_argument("client_id"); p.add_argument("--secret", required=True)
p.add_argument("--resource", default="urn:o16n:rs256"); p.add_argument("--counter", required=True)
p.add_argument("--plain", action="store_true")
a = p.parse_args()
with open(a.counter, "a") as fh:
    fh.write("x")
r = httpx.post(a.issuer + "/token", data={"grant_type": "client_credentials", "client_id": a.client_id,
               "client_secret": a.secret, "resource": a.resource, "scope": "api"})
if r.status_code != 200:
    print(f"token request failed: {r.status_code} {r.text}", file=sys.stderr)
    sys.exit(4)
print(r.json()["access_token"] if a.plain else json.dumps(r.json()))
'''


@pytest.fixture
def fetch_token(tmp_path):
    script = tmp_path / "fetch_token.py"
    script.write_text(FETCH_TOKEN)
    counter = tmp_path / "runs"
    counter.write_text("")

    def command(issuer: str, client_id: str, *extra: str, secret: str | None = None) -> str:
        return (f"{sys.executable} {script} {issuer} {client_id} --secret {secret or 'secret-' + client_id} "
                f"--counter {counter} " + " ".join(extra))
    command.runs = lambda: len(counter.read_text())  # type: ignore[attr-defined]
    return command


def test_login_with_a_token_command(shell, oidc_o16n, oidc_provider, fetch_token, capsys, monkeypatch):
    monkeypatch.delenv("O16N_CREDENTIALS_FILE", raising=False)
    command = fetch_token(oidc_provider.issuer, "contrib-app", "--resource", "urn:o16n:short")
    run(shell, f"%o16n login {oidc_o16n.url} --token-command '{command}'")
    out, err = capsys.readouterr()
    assert out.strip() == (f"o16n: logged in to {oidc_o16n.url} as contrib-app@example.org "
                           "(Contributor, OpenID Connect)"), err
    name = f"TokenMagic{int(time.time() * 1000) % 10**8}"
    run(shell, f"%%o16n publish {name} --version v1 --inputs x:int --outputs y:int\ny = x * 3\n")
    assert f"published {name} v1" in capsys.readouterr().out
    time.sleep(2.5)  # the 2-second token expired: the command runs again
    result = run(shell, f"%o16n consume {name} v1 --x 5")
    assert result.output() == 15
    assert fetch_token.runs() >= 2
    run(shell, "%o16n status")
    assert "as contrib-app@example.org (Contributor, OpenID Connect); server status: pass" in capsys.readouterr().out
    run(shell, f"%o16n delete {name} v1")
    run(shell, "%o16n logout")
    capsys.readouterr()


def test_a_failing_token_command_is_explained_without_the_token(shell, oidc_o16n, oidc_provider, fetch_token, capsys):
    magics = shell.magics_manager.registry["O16nMagics"]
    before = magics.client
    command = fetch_token(oidc_provider.issuer, "contrib-app", secret="wrong-secret")
    run(shell, f"%o16n login {oidc_o16n.url} --token-command '{command}'")
    err = capsys.readouterr().err
    assert err.startswith(f"o16n: the token command {sys.executable!r} exited with code 4; its stderr ends with:")
    assert "token request failed: 401" in err and "invalid_client" in err
    assert "wrong-secret" not in err and "eyJ" not in err and magics.client is before
    # a token the server maps to no role: the login fails, with the server's message
    plain = fetch_token(oidc_provider.issuer, "nobody-app", "--plain")
    run(shell, f"%o16n login {oidc_o16n.url} --token-command '{plain}'")
    out, err = capsys.readouterr()
    assert "mapped to an o16n role" in err and "logged in" not in out
    assert "eyJ" not in out + err  # no JWT anywhere
    run(shell, f"%o16n login {oidc_o16n.url} --user x --token-command '{plain}'")
    assert "not both" in capsys.readouterr().err
