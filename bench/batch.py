"""Batch throughput of o16n: items/s of a batch execution of the Iris service, submit to Complete.

A benchmark, not a test: it prints numbers (and writes them with --json) and checks only that every
item answered the expected class. It starts a real server on loopback (the settings of
bench/consume.py: the Iris SVC trained in a session, snapshot, published as IrisBench/v1), submits
batches of N items with parallelCount P, and polls `GET .../batch/{id}?showPartialResults=false`
every 20 ms until the state is Complete. It reports the submit time (POST to 202: the input checks
and the rows written), the run time (202 to Complete) and items/s over both; and, for comparison,
the same N items sent as single requests by P keep-alive clients (httpx, threads). With
`--realtime` the same runs go to a realtime service (the SVC converted to ONNX with skl2onnx,
published by the 9.1 multipart route; one row per item), whose chunks are scored as one frame.

    .venv/bin/python bench/batch.py                      # 1,000 and 10,000 items, P = 2 and 4
    .venv/bin/python bench/batch.py --items 10000 --parallel 4 --json out.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

from consume import EXPECTED, SERVICE, VERSION, LiveServer, setup_o16n  # noqa: E402

RECORD = {"flower_data": [5.1, 3.5, 1.4, 0.2]}
REALTIME = "IrisRealtimeBench"
REALTIME_RECORD = {"inputData": {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4],
                                 "petal_width": [0.2]}}


def publish_realtime(client: httpx.Client) -> None:
    from skl2onnx import to_onnx
    from sklearn import datasets, svm

    x, y = datasets.load_iris(return_X_y=True)
    model = to_onnx(svm.SVC().fit(x.astype("float32"), y), x[:1].astype("float32"), target_opset=17)
    answer = client.post(f"/realtime-services/{REALTIME}/{VERSION}", files={"model": ("iris.onnx", model.SerializeToString())})
    answer.raise_for_status()


def answered(result: dict | None, realtime: bool) -> bool:
    if not result or not result["success"]:
        return False
    outputs = result["outputParameters"]
    return outputs["outputData"]["output_label"] == [0] if realtime else outputs.get("iris_type") == EXPECTED


def run_batch(client: httpx.Client, items: int, parallel: int, realtime: bool = False) -> dict:
    service = REALTIME if realtime else SERVICE
    records = [REALTIME_RECORD if realtime else RECORD] * items
    body = json.dumps(records).encode()
    started = time.perf_counter()
    answer = client.post(f"/api/{service}/{VERSION}/batch", params={"parallelCount": parallel}, content=body,
                         headers={"Content-Type": "application/json"})
    answer.raise_for_status()
    execution_id = answer.json()["batchExecutionId"]
    submitted = time.perf_counter()
    while True:
        status = client.get(f"/api/{service}/{VERSION}/batch/{execution_id}", params={"showPartialResults": "false"}).json()
        if status["state"] in ("Complete", "Failed"):
            break
        time.sleep(0.02)
    finished = time.perf_counter()
    results = client.get(f"/api/{service}/{VERSION}/batch/{execution_id}").json()["batchExecutionResults"]
    wrong = sum(1 for r in results if not answered(r, realtime))
    client.delete(f"/api/{service}/{VERSION}/batch/{execution_id}")
    return {
        "service": "realtime" if realtime else "script", "items": items, "parallel": parallel, "state": status["state"], "wrong": wrong,
        "submit_s": round(submitted - started, 3), "run_s": round(finished - submitted, 3),
        "items_per_s": round(items / (finished - started)),
    }


def run_singles(url: str, token: str, items: int, parallel: int) -> dict:
    def worker(count: int) -> int:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(count):
                client.post(f"/api/{SERVICE}/{VERSION}", json=RECORD).raise_for_status()
        return count

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(worker, [items // parallel] * parallel))
    elapsed = time.perf_counter() - started
    return {"items": items // parallel * parallel, "parallel": parallel,
            "items_per_s": round(items // parallel * parallel / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--parallel", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--singles", type=int, default=2000, help="items sent as single requests (0: none)")
    parser.add_argument("--realtime", action="store_true", help="also the realtime (ONNX) Iris service")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "data").start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                login = client.post("/login", json={"username": server.admin_user, "password": server.admin_password})
                token = login.json()["access_token"]
                client.headers["Authorization"] = f"Bearer {token}"
                setup_o16n(server, client)
                run_batch(client, 200, 4)  # warm-up: the pool grows to its workers
                for items in args.items:
                    for parallel in args.parallel:
                        row = {"kind": "batch", **run_batch(client, items, parallel)}
                        print(json.dumps(row), flush=True)
                        rows.append(row)
                if args.realtime:
                    publish_realtime(client)
                    run_batch(client, 200, 4, realtime=True)
                    for items in args.items:
                        for parallel in args.parallel:
                            row = {"kind": "batch", **run_batch(client, items, parallel, realtime=True)}
                            print(json.dumps(row), flush=True)
                            rows.append(row)
                if args.singles:
                    for parallel in args.parallel:
                        row = {"kind": "singles", **run_singles(server.url, token, args.singles, parallel)}
                        print(json.dumps(row), flush=True)
                        rows.append(row)
        finally:
            server.stop()
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "loadavg": load, "cpus": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
