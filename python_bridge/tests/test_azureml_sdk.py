"""Integration test: Microsoft's ``azureml-model-management-sdk`` (unchanged,
1.0.1b6.post1 from PyPI) against a live o16n server.

Client-side shims for modern Python live in ``sdk_compat.py``; the server gets
none.  Requires the ``live_server`` fixture (attributes ``url``,
``admin_user``, ``admin_password``) from ``conftest.py``.

The service functions below are module-level on purpose: the SDK ships their
source to the server via ``inspect.getsource`` and only strips the indentation
of the first line.
"""
from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest

try:  # tests dir may or may not be a package
    from . import sdk_compat
except ImportError:  # pragma: no cover
    import sdk_compat

try:
    DeployClient, MLServer, HttpException = sdk_compat.import_sdk()
except ImportError as exc:  # pragma: no cover
    if os.environ.get("O16N_REQUIRE_SDK"):
        raise
    pytest.skip(
        f"{sdk_compat.SDK_DIST} not installed ({exc}); "
        f"pip install {sdk_compat.SDK_DIST}=={sdk_compat.SDK_VERSION}",
        allow_module_level=True,
    )

httpx = pytest.importorskip("httpx")
pd = pytest.importorskip("pandas")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
from sklearn.svm import SVC  # noqa: E402

pytestmark = pytest.mark.timeout(300)

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
BATCH_TIMEOUT = 120.0


# --------------------------------------------------------------------------- #
# Service code (sent to the server as source text; `clf` is a deployed model,
# `species_names` is created by the init function in the service's globals).
# --------------------------------------------------------------------------- #
def iris_init():
    global species_names
    species_names = ["setosa", "versicolor", "virginica"]


def classify(features):
    import numpy
    row = numpy.asarray(features, dtype=float).reshape(1, -1)
    label = int(clf.predict(row)[0])  # noqa: F821 - a workspace object of the service
    return species_names[label]


def predict_species(sepal_length, sepal_width, petal_length, petal_width):
    import numpy
    row = numpy.array([[sepal_length, sepal_width, petal_length, petal_width]],
                      dtype=float)
    return int(clf.predict(row)[0])  # noqa: F821 - a workspace object of the service


# --------------------------------------------------------------------------- #
# fixtures
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def iris():
    return sklearn_datasets.load_iris()


@pytest.fixture(scope="module")
def model(iris):
    clf = SVC(gamma="scale")
    clf.fit(iris.data, iris.target)
    return clf


@pytest.fixture(scope="module")
def client(live_server):
    return DeployClient(live_server.url, use=MLServer,
                        auth=(live_server.admin_user, live_server.admin_password))


@pytest.fixture(scope="module")
def names():
    suffix = uuid.uuid4().hex[:8]
    return {"one": f"sdk_iris_{suffix}", "four": f"sdk_iris4_{suffix}"}


@pytest.fixture(scope="module")
def raw(live_server, client):
    """httpx client carrying the SDK's own bearer token (same session)."""
    headers = {"Authorization": client._http_client.authorization}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def svc_one(client, names, model):
    svc = (client.service(names["one"])
           .version("v1.0.0")
           .description("iris classifier, one vector input")
           .code_fn(classify, iris_init)
           .inputs(features="numpy.array")
           .outputs(species=str)
           .models(clf=model)
           .deploy())
    yield svc
    _delete_quietly(client, names["one"], "v1.0.0")


@pytest.fixture(scope="module")
def svc_four(client, names, model):
    svc = (client.service(names["four"])
           .version("v1")
           .description("iris classifier, four float inputs")
           .code_fn(predict_species)
           .inputs(sepal_length=float, sepal_width=float,
                   petal_length=float, petal_width=float)
           .outputs(species=int)
           .models(clf=model)
           .deploy())
    yield svc
    _delete_quietly(client, names["four"], "v1")


def _delete_quietly(client, name, version):
    try:  # teardown only; test_delete_service normally removed it already
        client.delete_service(name, version=version)
    except Exception:
        pass


def _check_ok(resp):
    assert not resp.error, f"service error: {resp.error!r}\n{resp.console_output}"


def _wait_batch(batch):
    deadline = time.monotonic() + BATCH_TIMEOUT
    while True:
        res = batch.results()
        assert res.state != "Failed", f"batch failed: {res}"
        if res.state == "Complete":
            return res
        assert time.monotonic() < deadline, f"batch did not complete: {res}"
        time.sleep(0.5)


# --------------------------------------------------------------------------- #
# tests (module-scoped services; run in file order)
# --------------------------------------------------------------------------- #
def test_login_sets_bearer_token(client):
    assert client._http_client.authorization.startswith("Bearer ")
    assert len(client._http_client.authorization) > len("Bearer ")


def test_deploy_and_consume_one_input(svc_one, names, iris, model):
    # generated class + method named after the function (operationId)
    from azureml.common.utils import to_camel_case
    assert type(svc_one).__name__ == to_camel_case(names["one"]) + "Service"
    assert callable(getattr(svc_one, "classify", None))

    caps = svc_one.capabilities()
    assert caps["name"] == names["one"]
    assert caps["version"] == "v1.0.0"
    assert caps["api"] == f"/api/{names['one']}/v1.0.0"
    assert caps["operation_id"] == "classify"
    assert caps["runtime"] == "Python"
    assert caps["description"] == "iris classifier, one vector input"
    assert caps["snapshot_id"]
    assert caps["inputs_encoded"] == [{"name": "features", "type": "numpy.array"}]
    assert caps["outputs_encoded"] == [{"name": "species", "type": "str"}]
    assert caps["public-functions"]["classify"] == "classify(self,features)"

    for i in (0, 60, 120):
        res = svc_one.classify(np.array(iris.data[i]))
        _check_ok(res)
        expected = str(iris.target_names[model.predict(iris.data[i:i + 1])[0]])
        assert res.output("species") == expected
        assert res.outputs == {"species": expected}
        assert res.raw_outputs["species"] == expected
        assert res.api == f"/api/{names['one']}/v1.0.0"


def test_swagger(svc_one, names):
    import json
    doc = json.loads(svc_one.swagger())
    assert isinstance(doc, dict)
    assert "paths" in doc


def test_consume_four_inputs_generated_method(svc_four, iris, model):
    # The SDK's original code-object hack (function_beget) is broken on
    # Python >= 3.8 for any number of inputs and known-buggy for > 3 inputs
    # on 3.5; sdk_compat replaces it, so 4 positional inputs work here.
    assert callable(getattr(svc_four, "predict_species", None))
    for i in (0, 60, 120):
        res = svc_four.predict_species(*[float(v) for v in iris.data[i]])
        _check_ok(res)
        assert res.output("species") == int(model.predict(iris.data[i:i + 1])[0])
        assert isinstance(res.output("species"), int)


def test_consume_four_inputs_raw_http(svc_four, names, raw, iris, model):
    """Server side of the same call, independent of the SDK's method generator."""
    row = dict(zip(IRIS_COLUMNS, (float(v) for v in iris.data[100])))
    r = raw.post(f"/api/{names['four']}/v1", json=row)
    assert r.status_code == 200, r.text
    body = r.json()
    for key in ("success", "errorMessage", "consoleOutput", "outputParameters"):
        assert key in body, f"{key} missing in {body}"
    assert body["success"] is True
    assert body["outputParameters"]["species"] == int(model.predict(iris.data[100:101])[0])


def test_batch_dataframe(svc_four, iris, model):
    idx = [0, 1, 50, 51, 100, 101, 149]
    # columns deliberately not in argument order: the SDK reorders
    df = pd.DataFrame(iris.data[idx], columns=IRIS_COLUMNS)[IRIS_COLUMNS[::-1]]
    expected = [int(v) for v in model.predict(iris.data[idx])]

    batch = svc_four.batch(df, parallel_count=2).start()
    assert batch.execution_id
    res = _wait_batch(batch)
    assert res.total_item_count == len(idx)
    assert res.completed_item_count == len(idx)
    for i, exp in enumerate(expected):
        out = res.execution(i)
        _check_ok(out)
        assert out.output("species") == exp

    assert batch.execution_id in svc_four.list_batch_executions()

    # re-attach by id
    again = svc_four.get_batch(batch.execution_id).results(show_partial_results=False)
    assert again.state == "Complete"
    assert [again.execution(i).output("species") for i in range(len(idx))] == expected
    # a batch without output files lists none
    assert batch.list_artifacts(0) == []


def test_batch_dict_of_columns(svc_one, iris, model):
    rows = [3, 75, 140]
    batch = svc_one.batch({"features": [np.array(iris.data[i]) for i in rows]}).start()
    res = _wait_batch(batch)
    assert res.total_item_count == len(rows)
    for k, i in enumerate(rows):
        out = res.execution(k)
        _check_ok(out)
        assert out.output("species") == str(
            iris.target_names[model.predict(iris.data[i:i + 1])[0]])


def test_list_and_get_services(client, svc_one, svc_four, names, iris):
    all_names = {s["name"] for s in client.list_services()}
    assert {names["one"], names["four"]} <= all_names

    versions = client.list_services(names["one"])
    assert isinstance(versions, list)
    assert [s["version"] for s in versions] == ["v1.0.0"]

    one = client.list_services(names["one"], version="v1.0.0")
    assert len(one) == 1
    meta = one[0]
    assert meta["name"] == names["one"]
    assert meta["operationId"] == "classify"
    assert meta["runtimeType"] == "Python"
    assert meta["inputParameterDefinitions"] == [{"name": "features", "type": "vector"}]
    assert meta["outputParameterDefinitions"] == [{"name": "species", "type": "character"}]

    for svc in (client.get_service(names["one"], version="v1.0.0"),
                client.get_service(names["one"])):  # latest
        res = svc.classify(np.array(iris.data[0]))
        _check_ok(res)
        assert res.output("species") == "setosa"

    with pytest.raises((HttpException, ValueError)):
        client.get_service(names["one"], version="no-such-version")


def test_redeploy_full_definition(client, svc_one, names, model, iris):
    svc = (client.service(names["one"])
           .version("v1.0.0")
           .description("iris classifier, redeployed")
           .code_fn(classify, iris_init)
           .inputs(features="numpy.array")
           .outputs(species=str)
           .models(clf=model)
           .redeploy())
    assert svc.capabilities()["description"] == "iris classifier, redeployed"
    assert client.get_service(names["one"], version="v1.0.0") \
        .capabilities()["description"] == "iris classifier, redeployed"
    res = svc.classify(np.array(iris.data[120]))
    _check_ok(res)
    assert res.output("species") == "virginica"


def test_redeploy_description_only_keeps_model(client, svc_four, names, iris, model):
    # The SDK's PATCH carries only {snapshotId (fresh, EMPTY workspace),
    # description, runtimeType}; code/initCode/operationId/IO are omitted.
    svc = client.service(names["four"]).version("v1") \
        .description("new description").redeploy()
    assert svc.capabilities()["description"] == "new description"
    assert svc.capabilities()["operation_id"] == "predict_species"
    res = svc.predict_species(*[float(v) for v in iris.data[60]])
    _check_ok(res)
    assert res.output("species") == int(model.predict(iris.data[60:61])[0])


def test_delete_service(client, names, svc_one, svc_four):
    assert client.delete_service(names["four"], version="v1") is True
    assert names["four"] not in {s["name"] for s in client.list_services()}
    try:  # unknown name: [] or 404 are both acceptable
        assert client.list_services(names["four"]) == []
    except HttpException as exc:
        assert exc.status == 404
    with pytest.raises((HttpException, ValueError)):
        client.get_service(names["four"], version="v1")
    with pytest.raises(ValueError):
        client.delete_service(names["one"])  # SDK: version is required
    assert client.delete_service(names["one"], version="v1.0.0") is True
    assert names["one"] not in {s["name"] for s in client.list_services()}
