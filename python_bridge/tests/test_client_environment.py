"""Environments in o16n.client: capture (which distributions an SVC + pandas code need), the
`Environment` edits, and publishing with one against a real o16n server on loopback (real uv
builds from the package index), or without one and reading the version skew."""

from __future__ import annotations

import importlib.metadata
import sys
import time
import warnings

import pytest

from o16n.client import Environment, InvalidInput, NotFound, VersionSkewWarning, capture, connect
from o16n.client.definition import ServiceDefinition
from o16n.client.environment import environment_key, version_skew
from o16n.jupyter.inkernel import pins

pytestmark = pytest.mark.timeout(900)


def _iris_svc():
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    return svm.SVC().fit(iris.data, iris.target), [str(n) for n in iris.target_names]


# ====================================================================== capture (no server)
def test_capture_of_an_svc_and_pandas_code_pins_what_they_need():
    clf, names = _iris_svc()
    code = "import pandas as pd\nframe = pd.DataFrame({'x': [1]})\ny = names[int(clf.predict([x])[0])]\n"
    taken = capture({"clf": clf, "names": names, "unused": object()}, ["clf", "names"], code=code)
    env = taken.environment
    assert env is not None
    by_name = {p.name: p for p in env.packages}
    # what the objects' pickles refer to and the code imports, at this Python's versions
    assert by_name["scikit-learn"].direct and by_name["scikit-learn"].reason == \
        "provides sklearn (clf is a sklearn.svm.SVC)"
    assert by_name["numpy"].direct and "used inside clf" in by_name["numpy"].reason
    assert by_name["pandas"].direct and by_name["pandas"].reason == "provides pandas (imported by the code)"
    # ... and what those require, installed ones, without extras
    for required in ("scipy", "joblib", "threadpoolctl"):
        assert not by_name[required].direct and by_name[required].reason == "required by scikit-learn"
    assert by_name["python-dateutil"].reason == "required by pandas"
    for name, pin in by_name.items():
        assert pin.version == importlib.metadata.version(name), name
    # never the standard library, the kernel's tooling or o16n itself
    assert not {"o16n", "ipykernel", "ipython", "pip", "json", "builtins"} & set(by_name)
    assert env.python == ".".join(map(str, sys.version_info[:3]))
    spec = env.spec()
    assert spec["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"scikit-learn=={importlib.metadata.version('scikit-learn')}" in spec["packages"]
    assert spec["packages"] == sorted(spec["packages"])
    text = repr(taken)
    assert "environment: python" in text and "scikit-learn==" in text and "clf is a sklearn.svm.SVC" in text


def test_capture_of_plain_data_needs_no_package():
    env = capture({"names": ["a", "b"], "k": {"x": 1.5}}, ["names", "k"]).environment
    assert env is not None and env.packages == []


def test_a_module_outside_any_distribution_is_noted(tmp_path, monkeypatch):
    (tmp_path / "o16n_local_helper.py").write_text("class Scaler:\n    factor = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import o16n_local_helper  # noqa: PLC0415 - made by this test

    env = Environment.capture({"scaler": o16n_local_helper.Scaler()})
    assert "o16n-local-helper" not in env
    assert any("o16n_local_helper" in note and "not from an installed distribution" in note for note in env.notes)


def test_an_editable_install_is_not_pinned():
    from o16n.client.encoding import param_type

    env = Environment.capture({"t": param_type(float)}, code="import o16n.wire")
    assert "o16n" not in env


def test_past_the_budget_only_the_class_is_looked_at():
    clf, _ = _iris_svc()
    builder = pins.EnvironmentBuilder()
    builder.add_object("clf", clf, deadline=time.time() - 1)
    result = builder.result()
    assert "scikit-learn" in {p["name"] for p in result["packages"]}
    # the deadline is checked every 2000 objects: an SVC is smaller, so it was inspected in full
    big = [clf] + list(range(10000))
    builder = pins.EnvironmentBuilder()
    builder.add_object("big", big, deadline=time.time() - 1)
    assert any("took too long" in note for note in builder.result()["notes"])


def test_environment_edits_and_the_key():
    env = Environment.from_spec({"python": "3.11", "packages": ["Scikit_Learn==1.5.2", "attrs==24.2.0"]})
    assert env.requirements() == ["attrs==24.2.0", "scikit-learn==1.5.2"]
    changed = env.add("attrs==23.2.0", "six>=1.10").remove("scikit_learn")
    assert changed.requirements() == ["attrs==23.2.0", "six>=1.10"] and env.requirements()[0] == "attrs==24.2.0"
    bare = env.add("numpy")  # a bare name: this Python's version
    assert bare.get("numpy").version == importlib.metadata.version("numpy")
    with pytest.raises(ValueError, match="not in the environment"):
        env.remove("pandas")
    with pytest.raises(ValueError, match="not a requirement"):
        env.add("==1.0")
    import hashlib
    expected = hashlib.sha256(b"3.11\nattrs==24.2.0\nscikit-learn==1.5.2").hexdigest()
    assert env.key == expected == environment_key("3.11", ["scikit-learn==1.5.2", "attrs==24.2.0"])
    assert "attrs==24.2.0" in env.to_text() and "<table>" in env._repr_html_()


def test_version_skew_names_package_and_both_versions():
    env = Environment.from_capture({"python": "3.11.7", "packages": [
        {"name": "scikit-learn", "version": "1.5.2", "reason": "", "direct": True},
        {"name": "numpy", "version": "2.1.3", "reason": "", "direct": True},
        {"name": "scipy", "version": "1.14.0", "reason": "", "direct": False},
        {"name": "attrs", "version": "24.2.0", "reason": "", "direct": True}]})
    skew = version_skew(env, {"scikit-learn": "1.4.0", "numpy": "2.1.3", "scipy": "1.0"})
    assert [s.to_json() for s in skew] == [
        {"name": "scikit-learn", "kernelVersion": "1.5.2", "serverVersion": "1.4.0"},
        {"name": "attrs", "kernelVersion": "24.2.0", "serverVersion": None}]
    assert "scikit-learn 1.5.2 here, 1.4.0 on the server" in str(skew[0])


def test_definition_environment_forms():
    clf, _ = _iris_svc()
    d = ServiceDefinition(None, "x").code_str("import pandas\ny = clf.predict([x])").objects(clf=clf)  # type: ignore[arg-type]
    assert d.resolved_environment() is None  # the default: the server's own
    env = d.environment(add=["attrs==24.2.0"], remove="pandas").resolved_environment()
    assert env is not None and "attrs" in env and "pandas" not in env and "scikit-learn" in env
    exact = d.environment(["six==1.16.0"]).resolved_environment()
    assert exact is not None and exact.requirements() == ["six==1.16.0"]
    assert d.environment(None).resolved_environment() is None
    with pytest.raises(ValueError, match="not in the environment"):
        d.environment(remove="no-such-thing")


# ====================================================================== against a real server
@pytest.fixture
def client(live_server):
    with connect(live_server.url, live_server.admin_user, live_server.admin_password) as c:
        yield c


def _needs_environments(client) -> None:
    if client.server_environment(refresh=True) is None:
        pytest.fail("the o16n server does not serve GET /environments/server")


def test_publish_without_environment_reports_version_skew(client):
    _needs_environments(client)
    server = client.server_environment()
    assert server is not None and server["packages"]
    clf, names = _iris_svc()
    name = f"SkewIris{int(time.time() * 1000) % 10**8}"
    d = client.service(name).version("1").code_str("import numpy\ny = names[int(clf.predict(numpy.array([x]))[0])]")
    d.inputs(x=list).outputs(y=str).objects(clf=clf, names=names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svc = d.deploy()
    try:
        # same Python environment as the server here: no skew
        assert svc.version_skew == []
        assert not [w for w in caught if issubclass(w.category, VersionSkewWarning)]
        assert svc(x=[5.1, 3.5, 1.4, 0.2]).output("y") == "setosa"
        assert svc.environment is None
        # a skew the server would show: the kernel's scikit-learn pinned to another version
        skew = client.version_skew(d.captured_environment().add("scikit-learn==1.0.0"))
        assert skew is not None and [s.name for s in skew] == ["scikit-learn"]
        assert skew[0].server_version == server["packages"]["scikit-learn"]
    finally:
        client.delete_service(name, "1")


def test_publish_with_a_captured_environment_overridden_builds_and_runs_it(client, capfd):
    _needs_environments(client)
    # A version no other test pins: its first publish builds (other tests reuse six==1.16.0).
    name = f"EnvSix{int(time.time() * 1000) % 10**8}"

    def six_version() -> str:
        import six
        return six.__version__

    d = client.service(name).version("1").code_fn(six_version).environment(add="six==1.15.0")
    env = d.resolved_environment()
    assert env is not None and env.get("six").version == "1.15.0"  # captured from the import, then overridden
    started = time.monotonic()
    svc = d.deploy()
    first = time.monotonic() - started
    try:
        assert svc.built_environment is not None and svc.built_environment["state"] == "ready"
        assert svc.environment is not None and svc.environment["key"] == env.key
        assert svc().output() == "1.15.0"  # the server itself has six 1.17
        assert "environment" in capfd.readouterr().err  # the progress bar
        # the same pins again: reused, no build
        again = client.service(name).version("2").code_fn(six_version).environment(env).deploy()
        assert again.built_environment is not None and again.built_environment["reused"] is True
        assert again().output() == "1.15.0"
        client.delete_service(name, "2")
        print(f"\nenvironment six==1.15.0: first publish {first:.1f} s", file=sys.stderr)
    finally:
        client.delete_service(name, "1")


def test_an_unknown_package_fails_the_publish_and_publishes_nothing(client):
    _needs_environments(client)
    name = f"EnvBad{int(time.time() * 1000) % 10**8}"
    d = client.service(name).version("1").code_str("y = 1").outputs(y=int)
    d.environment(["o16n-no-such-package-anywhere==0.0.1"])
    with pytest.raises(InvalidInput) as caught:
        d.deploy()
    assert caught.value.field == "environment" and "o16n-no-such-package-anywhere" in caught.value.message
    with pytest.raises(NotFound):
        client.get_service(name)


def test_environment_routes_from_the_client(client):
    _needs_environments(client)
    spec = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "packages": ["six==1.16.0"]}
    built = client.build_environment(spec, progress=False)
    assert built["state"] == "ready" and built["key"] == environment_key(spec["python"], spec["packages"])
    assert built["key"] in {e["key"] for e in client.list_environments()}
    assert client.get_environment(built["key"])["packages"] == ["six==1.16.0"]


def test_an_object_the_servers_environment_cannot_load_names_the_fix(client, tmp_path, monkeypatch):
    (tmp_path / "o16n_kernel_only.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import o16n_kernel_only  # noqa: PLC0415 - made by this test, absent from the server

    name = f"EnvMissing{int(time.time() * 1000) % 10**8}"
    d = client.service(name).version("1").code_str("y = 1").outputs(y=int).objects(thing=o16n_kernel_only.Thing())
    with pytest.raises(InvalidInput) as caught:
        d.deploy()
    assert caught.value.field == "environment"
    assert "No module named 'o16n_kernel_only'" in caught.value.message and ".environment()" in caught.value.message
    with pytest.raises(NotFound):
        client.get_service(name)
