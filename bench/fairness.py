#!/usr/bin/env python
"""Exhaustion probe of issue #11.3: a Contributor holds 8 slow consumes on a node with 8 workers;
how long do a neighbour's consumes take meanwhile?

    .venv/bin/python bench/fairness.py [--hold 5] [--requests 60] [--json out.json]

A real server (max_workers=8). The Contributor publishes a service that sleeps `--hold` seconds and
gives it a dedicated pool of 8 (the 9.3 pool API), then sends 8 consumes at once. The neighbour
(admin) has a warm service of its own and sends `--requests` consumes one after the other while
those 8 run. Prints the neighbour's p50/p99/max and answer codes, and the Contributor's codes.
To measure another code base, put it first on PYTHONPATH (e.g. an export of an older commit).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python_bridge" / "tests"))

import httpx  # noqa: E402
from server_process import LiveServer  # noqa: E402


def probe(hold: float, requests: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="o16n-fairness-") as tmp:
        server = LiveServer(Path(tmp) / "data", max_workers=8).start()
        try:
            server.add_user("mallory", "mallory-Secret-1", "Contributor")
            with server.client() as admin, server.client("mallory", "mallory-Secret-1") as mallory:
                for client, name, code in ((mallory, "Slow", "import time\ntime.sleep(hold)\ny = 1"), (admin, "Fast", "y = 1")):
                    client.post(f"/services/{name}/v1", json={
                        "code": code, "runtimeType": "Python", "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
                        "inputParameterDefinitions": [{"name": "hold", "type": "numeric"}] if name == "Slow" else []}).raise_for_status()
                mallory.post("/services/Slow/v1/pool", json={"InitialPoolSize": 0, "MaxPoolSize": 8}).raise_for_status()
                for _ in range(3):
                    admin.post("/api/Fast/v1", json={}).raise_for_status()  # warm
                time.sleep(1.0)
                hog_codes: list[int] = []
                headers = dict(mallory.headers)

                def hog() -> None:
                    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as own:
                        hog_codes.append(own.post("/api/Slow/v1", json={"hold": hold}).status_code)

                hogs = [threading.Thread(target=hog) for _ in range(8)]
                for thread in hogs:
                    thread.start()
                busy, waited = 0, time.monotonic()
                while busy < 8 and time.monotonic() - waited < hold / 2:  # until the node is exhausted
                    time.sleep(0.1)
                    details = next(iter(admin.get("/status").json()["components"]["backends"]["components"].values()))["details"]
                    busy = details["pythonActiveShellCount"]
                during = {k: details[k] for k in ("pythonCurrentPoolSize", "pythonActiveShellCount")}
                latencies, codes = [], []
                deadline = waited + hold  # measure while the 8 are held
                while len(latencies) < requests and (time.monotonic() < deadline or len(latencies) < 10):
                    begin = time.perf_counter()
                    codes.append(admin.post("/api/Fast/v1", json={}, timeout=120).status_code)
                    latencies.append(time.perf_counter() - begin)
                for thread in hogs:
                    thread.join()
        finally:
            server.stop()
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "neighbour_requests": len(ordered),
        "neighbour_p50_ms": pick(0.50) * 1000,
        "neighbour_p99_ms": pick(0.99) * 1000,
        "neighbour_max_ms": ordered[-1] * 1000,
        "neighbour_codes": {str(c): codes.count(c) for c in sorted(set(codes))},
        "contributor_codes": {str(c): hog_codes.count(c) for c in sorted(set(hog_codes))},
        "pool_during_hold": during,
        "loadavg": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=5.0, help="seconds each of the Contributor's consumes takes")
    parser.add_argument("--requests", type=int, default=60, help="neighbour consumes at most (while the 8 are held)")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    result = probe(args.hold, args.requests)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
