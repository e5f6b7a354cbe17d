"""Realtime p50 against its floor, in interleaved rounds: the ratio a noisy shared machine can give.

bench/consume.py loads one target after another, so a neighbour's burst can land on one row and
not on the next. Here every round loads each target in turn and the ratio to the floor is taken
within the round; the report is the median over the rounds, with their range. At c=1 a target is
loaded for `--seconds` by one keep-alive raw-socket client; at c>1 with `--requests` requests by
bench/consume.py's raw load generator (C keep-alive connections). Targets: the ONNX floor
(bench/consume.py's bare Starlette app), one sandboxed server per `--spin` value
(realtime_spin_microseconds) and one in-process server.

    .venv/bin/python bench/interleaved.py                       # 30 rounds, 1 row, c=1, spin 0 and 300
    .venv/bin/python bench/interleaved.py --rows 1000 --rounds 10 --json out.json
    .venv/bin/python bench/interleaved.py --concurrency 1 8 32 --spin 300 --rounds 10
    git worktree add /tmp/before HEAD~1 && .venv/bin/python bench/interleaved.py --before /tmp/before

`--before CHECKOUT` adds the same servers run from another checkout's `python_bridge` (PYTHONPATH),
so that a change on the consume path is measured before and after within the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consume as c  # noqa: E402


def p50_for(target: c.Target, seconds: float) -> float:
    connection = c.RawConnection(target)  # a fresh one: uvicorn closes idle keep-alives after 5 s
    for _ in range(50):
        connection.roundtrip()
    latencies = []
    errors = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter_ns()
        errors += connection.roundtrip() != 200
        latencies.append(time.perf_counter_ns() - started)
    if errors:  # the figures of error answers would be meaningless
        raise RuntimeError(f"{target.name}: {errors} of {len(latencies)} answers were not 200")
    connection.sock.close()
    return statistics.median(latencies) / 1000


def _set_pythonpath(value: str | None) -> None:
    if value is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=0.4, help="per target and round")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--spin", type=int, nargs="+", default=[0, 300], help="realtime_spin_microseconds values")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1], help="levels (default 1)")
    parser.add_argument("--requests", type=int, default=2000, help="per target, round and level above 1")
    parser.add_argument("--before", type=Path, help="another checkout: its servers too, named 'before: ...'")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    kinds = [(f"sandboxed, spin {s} µs", {"realtime_spin_microseconds": s}) for s in args.spin] + [
        ("in-process", {"realtime_in_process": "true"})]
    plan = [(name, settings, None) for name, settings in kinds]
    if args.before:
        code = str((args.before / "python_bridge").resolve())
        plan = [(f"before: {name}", settings, code) for name, settings in kinds] + plan
    with tempfile.TemporaryDirectory(prefix="o16n-interleaved-") as tmp:
        tmpdir = Path(tmp)
        model = c.iris_onnx(tmpdir / "iris.onnx")
        baseline, port, _ = c.start_baseline(tmpdir, tmpdir / "iris.onnx")
        body = c.frame_body(args.rows)
        targets = {"floor": c.Target("floor", port, "/predict-onnx", body=body)}
        pids = {"floor": [baseline.pid]}
        servers = []
        own_path = os.environ.get("PYTHONPATH")
        try:
            for name, settings, code in plan:
                _set_pythonpath(code or own_path)  # a `before` server imports o16n from its checkout
                server = c.LiveServer(tmpdir / f"data-{len(servers)}", **settings).start()
                servers.append(server)
                with server.client() as client:
                    c.setup_realtime(client, model)
                    token = client.headers["Authorization"].split(" ", 1)[1]
                targets[name] = c.Target(name, server.port, f"/api/{c.RT_SERVICE}/{c.VERSION}", token, body=body)
                pids[name] = [server.process.pid]
            _set_pythonpath(own_path)
            for name, target in targets.items():  # pools grown, code paths warm
                c.grow_pool(target, max(args.concurrency))
                c.run_load("raw", target, max(args.concurrency), args.requests, 1, pids[name])
            rounds: dict[int, dict[str, list[float]]] = {level: {name: [] for name in targets} for level in args.concurrency}
            for _ in range(args.rounds):
                for level in args.concurrency:
                    for name, target in targets.items():
                        p50 = (p50_for(target, args.seconds) if level == 1 else
                               c.run_load("raw", target, level, args.requests, 1, pids[name])["p50_us"])
                        rounds[level][name].append(p50)
        finally:
            baseline.kill()
            for server in servers:
                server.stop()
    report: dict = {"rows": args.rows, "rounds": args.rounds, "seconds": args.seconds, "requests": args.requests,
                    "targets": {}, "levels": {}}
    print(f"| target ({args.rows} row{'s' if args.rows > 1 else ''}) | c | p50 µs (median of rounds) | ratio to the floor (median) | range of the ratio |")
    print("|---|---:|---:|---:|---|")
    for level, by_target in rounds.items():
        for name, values in by_target.items():
            ratios = [v / f for v, f in zip(values, by_target["floor"])]
            report["levels"].setdefault(str(level), {})[name] = {"p50_us": values, "ratios": ratios}
            if level == 1:  # the figures as earlier reports had them
                report["targets"][name] = {"p50_us": values, "ratios": ratios}
            print(f"| {name} | {level} | {statistics.median(values):,.0f} | {statistics.median(ratios):.2f}× | {min(ratios):.2f}–{max(ratios):.2f}× |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
