#!/usr/bin/env python
"""Consume through a load balancer: one node direct, one node behind HAProxy, two nodes behind it.

    .venv/bin/python bench/cluster.py [--requests N] [--concurrency C ...] [--json out.json]

The nodes share a real PostgreSQL and an S3-speaking server (as python_bridge/tests/test_cluster.py
starts them) and have their own data dirs; the service is the Iris SVC of bench/consume.py. On a
2-core machine this cannot show scaling (the nodes, the balancer and the load generator share two
cores); it shows what the balancer and a second node cost. A benchmark, not a test: it prints
numbers and asserts only HTTP 200s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "python_bridge" / "tests")]

from cluster_parts import Balancer, Postgres  # noqa: E402
from s3_server import S3Server  # noqa: E402
from server_process import LiveServer  # noqa: E402

from consume import SERVICE, VERSION, Target, run_load, setup_o16n  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="o16n-bench-cluster-"))
    postgres = Postgres(root / "pg").start()
    s3 = S3Server(root / "moto.log").start()
    os.environ.update({k: v for k, v in s3.environment().items() if k != "O16N_S3_ENDPOINT_URL"})
    settings = {"database_url": postgres.url("bench"), "s3_endpoint_url": s3.url,
                "artifact_url": f"s3://{s3.bucket(f'bench-{uuid.uuid4().hex[:8]}')}/o16n"}
    nodes = [LiveServer(root / f"node{i}", **settings) for i in range(2)]
    balancers: list[Balancer] = []
    rows = []
    try:
        nodes[0].start()
        nodes[1].start()
        with nodes[0].client() as admin:
            setup_o16n(nodes[0], admin)
        token = nodes[0].login()["access_token"]
        one = Balancer(root / "one", [nodes[0].port]).start()
        two = Balancer(root / "two", [n.port for n in nodes]).start()
        balancers += [one, two]
        path = f"/api/{SERVICE}/{VERSION}"
        targets = [("1 node, direct", nodes[0].port), (f"1 node, {one.kind}", one.port),
                   (f"2 nodes, {two.kind}", two.port)]
        pids = [n.process.pid for n in nodes if n.process]
        for name, port in targets:
            target = Target(name, port, path, token)
            run_load("raw", target, max(args.concurrency), 500, 1, pids)  # warm every node's pool
            for concurrency in args.concurrency:
                row = run_load("raw", target, concurrency, args.requests, 1, pids)
                row["loadavg"] = os.getloadavg()[0]
                rows.append(row)
                print(f"{name:<22} c={concurrency:<3} p50 {row['p50_us']:8.0f} µs  p99 {row['p99_us']:8.0f} µs  "
                      f"{row['rps']:7.0f} req/s  load {row['loadavg']:.2f}  other CPU {row['other_cpu_pct']:.0f} %",
                      flush=True)
    finally:
        for balancer in balancers:
            balancer.stop()
        for node in nodes:
            node.stop()
        s3.stop()
        postgres.stop()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
