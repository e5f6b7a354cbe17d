"""The walkthrough the product exists for, over real HTTP as its users wrote it (raw requests-style
calls): a Python session trains an SVC on Iris, a snapshot is taken, the service is published,
described by swagger, consumed, patched, versioned, listed and deleted; then the Double service
with a batch of ten.

Both run twice: with a token from POST /login (the local admin), and with a bearer token from an
OpenID provider in its place, as the seed's Azure AD example does (client credentials from a real
node-oidc-provider, the Owner role from the token's roles claim, on a server that trusts it).
"""

from __future__ import annotations

import time

import httpx
import pytest

IRIS_SETUP = [
    "from sklearn import svm\nfrom sklearn import datasets",
    "clf = svm.SVC()\niris = datasets.load_iris()\nnames = list(iris.target_names)",
]


@pytest.fixture(params=["login", "oidc"])
def admin(request, live_server):
    """An Owner's client: logged in with /login, or carrying an OIDC access token instead."""
    if request.param == "login":
        with live_server.client() as client:
            yield client
        return
    server = request.getfixturevalue("enterprise_server")
    token = request.getfixturevalue("oidc_provider").token("owner-app")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        yield client


@pytest.fixture
def admin_name(admin) -> str:
    return admin.get("/users/me").json()["username"]


def test_iris_walkthrough(admin, admin_name):
    # Part 3: a Python session, the model, a snapshot.
    created = admin.post("/sessions", json={"name": "Session 1", "runtimeType": "Python"})
    assert created.status_code == 201
    session_id = created.json()["sessionId"]
    for code in IRIS_SETUP:
        result = admin.post(f"/sessions/{session_id}/execute", json={"code": code}).json()
        assert result["success"], result["errorMessage"]
    trained = admin.post(
        f"/sessions/{session_id}/execute",
        json={
            "code": "clf.fit(iris.data, iris.target)\nresult = clf.predict([variety_1])\nother_result = clf.predict([variety_2])",
            "inputParameters": [{"name": "variety_1", "value": [7, 3.2, 4.7, 1.4]}, {"name": "variety_2", "value": [3, 2.6, 3, 2.5]}],
            "outputParameters": ["result", "other_result"],
        },
    ).json()
    assert trained["success"], trained["errorMessage"]
    assert trained["outputParameters"] == [{"name": "result", "value": [1]}, {"name": "other_result", "value": [1]}]
    assert set(trained) == {"success", "errorMessage", "outputParameters", "consoleOutput", "changedFiles"}

    snapshot = admin.post(f"/sessions/{session_id}/snapshot", json={"name": "Iris Snapshot"})
    assert snapshot.status_code == 201
    snapshot_id = snapshot.json()["snapshotId"]
    listed = admin.get("/snapshots").json()
    mine = next(s for s in listed if s["id"] == snapshot_id)
    assert mine["name"] == "Iris Snapshot" and mine["contentSize"] > 0 and mine["owner"] == admin_name

    # Part 4: publish V1.0 with a vector output.
    published = admin.post(
        "/services/Iris/V1.0",
        json={
            "code": "iris_type = [names[x] for x in clf.predict([flower_data])]",
            "inputParameterDefinitions": [{"name": "flower_data", "type": "vector"}],
            "outputParameterDefinitions": [{"name": "iris_type", "type": "vector"}],
            "runtimeType": "Python",
            "snapshotId": snapshot_id,
        },
    )
    assert published.status_code == 201, published.text

    service = admin.get("/services/Iris/V1.0").json()[0]
    assert service["inputParameterDefinitions"] == [{"name": "flower_data", "type": "vector"}]
    assert service["snapshotId"] == snapshot_id and service["runtimeType"] == "Python"

    swagger = admin.get("/api/Iris/V1.0/swagger.json").json()
    assert "/api/Iris/V1.0" in swagger["paths"]
    assert swagger["definitions"]["InputParameters"]["properties"]["flower_data"]["type"] == "array"

    expected = {(7, 3.2, 4.7, 1.4): "versicolor", (3, 2.6, 3, 2.5): "versicolor", (5.1, 3.5, 1.4, 0.2): "setosa"}
    for flower, species in expected.items():
        answer = admin.post("/api/Iris/V1.0", json={"flower_data": list(flower)})
        assert answer.status_code == 200
        body = answer.json()
        assert body["success"], body["errorMessage"]
        assert body["outputParameters"] == {"iris_type": [species]}
        assert set(body) == {"success", "errorMessage", "consoleOutput", "changedFiles", "outputFiles", "outputParameters"}

    # Update the description; the snapshot stays.
    description = "Determines iris type using length and width of sepal and petal"
    assert admin.patch("/services/Iris/V1.0", json={"description": description}).status_code == 200
    service = admin.get("/services/Iris/V1.0").json()[0]
    assert service["description"] == description and service["snapshotId"] == snapshot_id
    assert admin.post("/api/Iris/V1.0", json={"flower_data": [5.1, 3.5, 1.4, 0.2]}).json()["success"]

    # V2.0 returns a string ("string" is the alias the original docs used).
    published = admin.post(
        "/services/Iris/V2.0",
        json={
            "code": "iris_type = [names[x] for x in clf.predict([flower_data])][0]",
            "description": "Determines the type of iris",
            "inputParameterDefinitions": [{"name": "flower_data", "type": "vector"}],
            "outputParameterDefinitions": [{"name": "iris_type", "type": "string"}],
            "runtimeType": "Python",
            "snapshotId": snapshot_id,
        },
    )
    assert published.status_code == 201, published.text
    answer = admin.post("/api/Iris/V2.0", json={"flower_data": [5.1, 3.5, 1.4, 0.2]}).json()
    assert answer["outputParameters"] == {"iris_type": "setosa"}
    assert admin.get("/services/Iris/V2.0").json()[0]["outputParameterDefinitions"] == [{"name": "iris_type", "type": "character"}]

    # The session and snapshot go away (as the Microsoft SDK does); the services keep working.
    assert admin.delete(f"/sessions/{session_id}").status_code == 200
    assert admin.delete(f"/snapshots/{snapshot_id}").status_code == 200
    assert admin.get(f"/snapshots/{snapshot_id}").status_code == 404
    assert admin.post("/api/Iris/V2.0", json={"flower_data": [7, 3.2, 4.7, 1.4]}).json()["outputParameters"] == {"iris_type": "versicolor"}

    # List everything, then delete V2.0.
    versions = [s["version"] for s in admin.get("/services").json() if s["name"] == "Iris"]
    assert versions == ["V1.0", "V2.0"]
    assert admin.delete("/services/Iris/V2.0").status_code == 200
    assert [s["version"] for s in admin.get("/services/Iris").json()] == ["V1.0"]
    assert admin.post("/api/Iris/V2.0", json={"flower_data": [1, 2, 3, 4]}).status_code == 404
    assert admin.post("/api/Iris/V1.0", json={"flower_data": [5.1, 3.5, 1.4, 0.2]}).json()["success"]


def test_double_service_with_batch(admin):
    published = admin.post(
        "/services/Double/V1.0",
        json={
            "code": "y = x * 2",
            "description": "Doubles the input parameter",
            "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
            "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
            "runtimeType": "Python",
        },
    )
    assert published.status_code == 201
    assert admin.post("/api/Double/V1.0", json={"x": 5}).json() == {
        "changedFiles": [],
        "consoleOutput": "",
        "errorMessage": "",
        "outputFiles": {},
        "outputParameters": {"y": 10},
        "success": True,
    }

    swagger = admin.get("/api/Double/V1.0/swagger.json").json()
    assert swagger["info"]["title"] == "Double" and swagger["info"]["version"] == "V1.0"
    assert swagger["definitions"]["InputParameters"]["properties"]["x"]["type"] == "integer"
    assert {"/api/Double/V1.0", "/api/Double/V1.0/batch", "/api/Double/V1.0/batch/{executionId}"} <= set(swagger["paths"])

    started = admin.post("/api/Double/V1.0/batch?parallelCount=3", json=[{"x": i} for i in range(10)])
    assert started.status_code == 202
    execution_id = started.json()["batchExecutionId"]
    assert started.json()["BatchExecutionId"] == execution_id
    deadline = time.monotonic() + 60
    while True:
        status = admin.get(f"/api/Double/V1.0/batch/{execution_id}?showPartialResult=true").json()
        assert status["state"] in ("Pending", "Ready", "InProgress", "Complete")
        if status["state"] == "Complete" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status["state"] == "Complete"
    assert status["completedItemCount"] == status["totalItemCount"] == 10
    assert [r["outputParameters"]["y"] for r in status["batchExecutionResults"]] == [2 * i for i in range(10)]
    assert execution_id in admin.get("/api/Double/V1.0/batch").json()
    assert admin.get(f"/api/Double/V1.0/batch/{execution_id}/0/files").json() == []
    assert admin.delete(f"/api/Double/V1.0/batch/{execution_id}").status_code == 200
    assert admin.get(f"/api/Double/V1.0/batch/{execution_id}").status_code == 404
