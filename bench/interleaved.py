"""Realtime p50 against its floor, in interleaved rounds: the ratio a noisy shared machine can give.

bench/consume.py loads one target after another, so a neighbour's burst can land on one row and
not on the next. Here every round loads each target for `--seconds` (one keep-alive raw-socket
client, c=1) and the ratio to the floor is taken within the round; the report is the median over
the rounds, with their range. Targets: the ONNX floor (bench/consume.py's bare Starlette app), one
sandboxed server per `--spin` value (realtime_spin_microseconds) and one in-process server.

    .venv/bin/python bench/interleaved.py                       # 30 rounds, 1 row, spin 0 and 300
    .venv/bin/python bench/interleaved.py --rows 1000 --rounds 10 --json out.json
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=0.4, help="per target and round")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--spin", type=int, nargs="+", default=[0, 300], help="realtime_spin_microseconds values")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="o16n-interleaved-") as tmp:
        tmpdir = Path(tmp)
        model = c.iris_onnx(tmpdir / "iris.onnx")
        baseline, port, _ = c.start_baseline(tmpdir, tmpdir / "iris.onnx")
        body = c.frame_body(args.rows)
        targets = {"floor": c.Target("floor", port, "/predict-onnx", body=body)}
        servers = []
        try:
            for name, settings in [(f"sandboxed, spin {s} µs", {"realtime_spin_microseconds": s}) for s in args.spin] + [
                    ("in-process", {"realtime_in_process": "true"})]:
                server = c.LiveServer(tmpdir / f"data-{len(servers)}", **settings).start()
                servers.append(server)
                with server.client() as client:
                    c.setup_realtime(client, model)
                    token = client.headers["Authorization"].split(" ", 1)[1]
                targets[name] = c.Target(name, server.port, f"/api/{c.RT_SERVICE}/{c.VERSION}", token, body=body)
            rounds: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, target in targets.items():
                    rounds[name].append(p50_for(target, args.seconds))
        finally:
            baseline.kill()
            for server in servers:
                server.stop()
    report = {"rows": args.rows, "rounds": args.rounds, "seconds": args.seconds, "targets": {}}
    print(f"| target ({args.rows} row{'s' if args.rows > 1 else ''}, c=1) | p50 µs (median of rounds) | ratio to the floor (median) | range of the ratio |")
    print("|---|---:|---:|---|")
    for name, values in rounds.items():
        ratios = [v / f for v, f in zip(values, rounds["floor"])]
        report["targets"][name] = {"p50_us": values, "ratios": ratios}
        print(f"| {name} | {statistics.median(values):,.0f} | {statistics.median(ratios):.2f}× | {min(ratios):.2f}–{max(ratios):.2f}× |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
