"""Tests of the %o16n / %%o16n IPython magics, in a real IPython shell."""

from __future__ import annotations

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
