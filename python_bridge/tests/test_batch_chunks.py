"""Batch items travel to the workers in chunks (many items per worker call, results saved in bulk).

What must not change with chunks: every item runs as a single consume would (its own namespace copy,
its own output files, its own console), results stay index-aligned, and an item that kills or hangs
its worker costs that item only. A real server with real sandboxed workers; plus the parser of a
chunk reply against replies a hostile worker could send.
"""

from __future__ import annotations

import time

import httpx
import pytest
from isolation_support import publish, unique

from o16n.server.runtime import replies as r


def run_batch(client: httpx.Client, name: str, records: list[dict], parallel: int = 2, timeout: float = 180) -> dict:
    started = client.post(f"/api/{name}/v1/batch", params={"parallelCount": parallel}, json=records)
    assert started.status_code == 202, started.text
    execution_id = started.json()["batchExecutionId"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/{name}/v1/batch/{execution_id}").json()
        if status["state"] in ("Complete", "Failed"):
            return {"id": execution_id, **status}
        time.sleep(0.1)
    raise AssertionError(f"batch {execution_id} did not finish: {status}")


def test_many_items_stay_index_aligned_and_isolated_from_each_other(admin):
    name = unique("Chunk")
    # `seen` would leak from one item to the next if items shared a namespace.
    publish(admin, name, "seen = globals().get('seen', 0) + 1\ny = x * 2\nprint(x)", inputs={"x": "integer"},
            outputs={"y": "integer", "seen": "integer"})
    status = run_batch(admin, name, [{"x": i} for i in range(3000)], parallel=3)
    assert status["state"] == "Complete" and status["completedItemCount"] == 3000
    results = status["batchExecutionResults"]
    assert [item["outputParameters"]["y"] for item in results] == [2 * i for i in range(3000)]
    assert {item["outputParameters"]["seen"] for item in results} == {1}
    assert results[1234]["consoleOutput"].strip() == "1234"


def test_each_item_gets_its_own_output_file(admin):
    name = unique("ChunkFiles")
    code = "open('out.txt', 'w').write(str(x))\ny = x"
    publish(admin, name, code, inputs={"x": "integer"}, outputs={"y": "integer"}, outputFileNames=["out.txt"])
    status = run_batch(admin, name, [{"x": i} for i in range(40)])
    assert status["state"] == "Complete"
    for index in (0, 17, 39):
        files = admin.get(f"/api/{name}/v1/batch/{status['id']}/{index}/files")
        assert files.status_code == 200 and files.json() == ["out.txt"]
        content = admin.get(f"/api/{name}/v1/batch/{status['id']}/{index}/files/out.txt")
        assert content.text == str(index)


def test_an_item_that_kills_its_worker_costs_that_item_only(admin):
    name = unique("ChunkCrash")
    publish(admin, name, "import os\nif x == 7:\n    os._exit(3)\ny = x", inputs={"x": "integer"},
            outputs={"y": "integer"})
    status = run_batch(admin, name, [{"x": i} for i in range(30)], parallel=1)
    results = status["batchExecutionResults"]
    assert status["state"] == "Failed"  # an item the infrastructure could not answer: as before chunks
    assert results[7]["success"] is False and "worker" in results[7]["errorMessage"]
    assert all(results[i]["success"] and results[i]["outputParameters"]["y"] == i for i in range(30) if i != 7)


def test_an_item_that_hangs_costs_that_item_only(server_factory):
    server = server_factory(consume_timeout=3)
    with server.client() as client:
        name = unique("ChunkHang")
        publish(client, name, "import time\nif x == 3:\n    time.sleep(60)\ny = x", inputs={"x": "integer"},
                outputs={"y": "integer"})
        status = run_batch(client, name, [{"x": i} for i in range(12)], parallel=1, timeout=120)
    results = status["batchExecutionResults"]
    assert results[3]["success"] is False and "3 s" in results[3]["errorMessage"]
    assert all(results[i]["success"] and results[i]["outputParameters"]["y"] == i for i in range(12) if i != 3)


def test_loud_items_split_the_chunk_and_all_answer(server_factory):
    # 64 kB of console per item against a 200 kB console limit: the worker stops each chunk early.
    server = server_factory(max_console_bytes=200_000)
    with server.client() as client:
        name = unique("ChunkLoud")
        publish(client, name, "print('x' * 65536)\ny = x", inputs={"x": "integer"}, outputs={"y": "integer"})
        status = run_batch(client, name, [{"x": i} for i in range(60)], parallel=1)
    assert status["state"] == "Complete"
    results = status["batchExecutionResults"]
    assert [item["outputParameters"]["y"] for item in results] == list(range(60))
    assert all(len(item["consoleOutput"]) > 65000 for item in results)


def test_a_realtime_batch_is_scored_as_one_frame_per_chunk_and_a_bad_item_costs_itself(server_factory):
    from skl2onnx import to_onnx
    from sklearn import datasets, svm

    x, y = datasets.load_iris(return_X_y=True)
    x = x.astype("float32")
    model = svm.SVC().fit(x, y)
    onnx = to_onnx(model, x[:1], target_opset=17).SerializeToString()
    server = server_factory()
    with server.client() as client:
        name = unique("ChunkRt")
        published = client.post(f"/realtime-services/{name}/v1", files={"model": ("m.onnx", onnx)})
        assert published.status_code == 201, published.text
        records = [{"inputData": {f"c{j}": [float(x[i % 150, j])] for j in range(4)}} for i in range(2000)]
        records[500] = {"inputData": {"c0": [1.0], "c1": [2.0]}}  # two columns for a four-column model
        status = run_batch(client, name, records, parallel=2)
    assert status["state"] == "Complete", status["state"]
    results = status["batchExecutionResults"]
    assert results[500]["success"] is False and "column" in results[500]["errorMessage"]
    labels = [r["outputParameters"]["outputData"]["output_label"] for i, r in enumerate(results) if i != 500]
    expected = model.predict(x[[i % 150 for i in range(2000) if i != 500]]).tolist()
    assert [label[0] for label in labels] == expected and all(len(label) == 1 for label in labels)


# --- the parser of a chunk reply (what a hostile worker may send) --------------------------------
def item(outputs: bytes = b'{"y":1}') -> tuple[dict, bytes]:
    meta = {"success": True, "error_message": "", "console": "", "changed_files": [], "unhealthy": False,
            "outputs_size": len(outputs), "payload_size": len(outputs)}
    return meta, outputs


def test_a_chunk_reply_is_parsed_item_by_item():
    (a, pa), (b, pb) = item(b'{"y":1}'), item(b'{"y":2}')
    replies = r.parse_execute_many({"items": [a, b], "unhealthy": False}, pa + pb, 3, 1000)
    assert [reply.outputs for reply in replies] == [{"y": 1}, {"y": 2}]


@pytest.mark.parametrize("meta, payload, why", [
    ({"items": [], "unhealthy": False}, b"", "0 items"),
    ({"items": [item()[0]] * 3, "unhealthy": False}, item()[1] * 3, "3 items for 2 asked"),
    ({"items": [item()[0]], "unhealthy": False}, item()[1] + b"junk", "do not add up"),
    ({"items": [{**item()[0], "payload_size": 99}], "unhealthy": False}, item()[1], "do not add up"),
    ({"items": ["x"], "unhealthy": False}, b"", "not an object"),
    ({"items": [item()[0]], "unhealthy": "no"}, item()[1], "unhealthy"),
])
def test_a_chunk_reply_that_breaks_the_protocol_is_refused(meta, payload, why):
    with pytest.raises(r.ProtocolViolation, match=why):
        r.parse_execute_many(meta, payload, 2, 1000)
