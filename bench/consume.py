#!/usr/bin/env python
"""Consume-latency benchmark: o16n POST /api/IrisBench/v1 vs the same SVC in a bare Starlette app.

Run from the repository root:

    .venv/bin/python bench/consume.py [--requests N] [--concurrency C ...] [--json out.json]

What it does (a benchmark, not a test: it prints numbers and asserts nothing but HTTP 200s):

1. starts a real o16n server (python_bridge/tests/server_process.LiveServer) in a temp dir, logs
   in, trains sklearn SVC on load_iris in an o16n session, snapshots it and publishes service
   IrisBench/v1 (`iris_type = names[int(clf.predict([flower_data])[0])]`);
   times the publish (POST to 201) and the first consume right after it (cold: pool worker
   start + snapshot load);
2. starts a baseline: the same model in a minimal Starlette route under uvicorn (no auth, no
   worker process), in its own subprocess; the same app also has a raw-ASGI `/null` route that
   returns constant bytes, to show what the load generator + HTTP stack alone cost;
3. measures both with the same load generators:
   - `httpx`: c=1 a sync httpx.Client on one keep-alive connection; c>1 asyncio (uvloop) with
     one httpx.AsyncClient (pool of one keep-alive connection) per simulated user;
   - `httpx-pool` (only with --client httpx-pool): c>1 one shared httpx.AsyncClient whose pool
     holds all C connections; httpcore's pool bookkeeping makes it client-bound early;
   - `raw`: the same shapes with a hand-written HTTP/1.1 keep-alive client on plain sockets
     (pre-encoded request bytes, Content-Length framing), which costs the client far less CPU.
   Client processes are forked, connect and send one request per connection before a common
   start signal; latency is per request (send to last body byte), throughput is requests over
   the wall time from the start signal to the last answer. Client and server CPU time per
   request are reported too (the client shares the machine's cores with the server);
4. reports RSS (and USS) of the server process and of each of its worker processes.

With --realtime (docs/realtime.md) it also publishes the same SVC, converted to ONNX with skl2onnx,
as realtime service IrisRT/v1, on this server (scored in a sandboxed worker, the default) and on a
second server with realtime_in_process=true, and loads both next to their floor: the same ONNX
file scored by onnxruntime in the bare Starlette app (`/predict-onnx`, one intra-op thread as
o16n's). Rows with one flower and with frames of --realtime-rows flowers (rows/s = req/s x rows).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python_bridge" / "tests"))

import httpx  # noqa: E402
from server_process import LiveServer, free_port  # noqa: E402

try:
    import psutil
except ImportError:  # the /proc fallback below covers Linux
    psutil = None

SERVICE, VERSION = "IrisBench", "v1"
WARM_WAIT = 5.0  # seconds between publish and first consume for the "publish warmed it" figure
BODY = json.dumps({"flower_data": [5.1, 3.5, 1.4, 0.2]}).encode()
EXPECTED = "setosa"

TRAIN_CODE = """
from sklearn import datasets, svm
iris = datasets.load_iris()
clf = svm.SVC()
clf.fit(iris.data, iris.target)
names = [str(n) for n in iris.target_names]
del iris
"""
SERVICE_CODE = "iris_type = names[int(clf.predict([flower_data])[0])]"
# --frame-rows: a service whose answer is a data frame built once by its init code, so a request
# costs mostly the conversion and the JSON of the frame (where the server's envelope work shows).
FRAME_SERVICE = "FrameBench"
FRAME_INIT = """
import numpy as np, pandas as pd
rows = {rows}
table = pd.DataFrame({{"id": np.arange(rows), "x": np.linspace(0, 1, rows), "y": np.sqrt(np.arange(rows)),
                       "label": [f"row-{{i}}" for i in range(rows)]}})
"""

BASELINE_APP = '''
import json, sys
import uvicorn
from sklearn import datasets, svm
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

iris = datasets.load_iris()
clf = svm.SVC()
clf.fit(iris.data, iris.target)
names = [str(n) for n in iris.target_names]


async def predict(request):
    body = json.loads(await request.body())
    iris_type = names[int(clf.predict([body["flower_data"]])[0])]
    # The same envelope o16n answers with, so both send about as many bytes.
    result = {"success": True, "errorMessage": "", "consoleOutput": "", "changedFiles": [],
              "outputFiles": {}, "outputParameters": {"iris_type": iris_type}}
    return Response(json.dumps(result, separators=(",", ":")).encode(), media_type="application/json")


starlette_app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
NULL = b'{"ok":true}'


async def app(scope, receive, send):
    """Raw ASGI /null (constant answer: the floor of client + uvicorn), everything else Starlette."""
    if scope["type"] == "http" and scope["path"] == "/null":
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")]})
        await send({"type": "http.response.body", "body": NULL})
        return
    await starlette_app(scope, receive, send)


if len(sys.argv) > 2:  # --realtime: the ONNX floor, the model scored right here
    import math

    import numpy as np
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = onnxruntime.InferenceSession(sys.argv[2], sess_options=options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    output_names = [o.name for o in session.get_outputs()]

    async def predict_onnx(request):
        frame = json.loads(await request.body())["inputData"]
        label, probabilities = session.run(output_names, {input_name: np.array(list(frame.values()), dtype=np.float32).T})
        columns = {"output_label": label.tolist()}
        for key in (probabilities[0] if probabilities else {}):
            columns[f"output_probability_{key}"] = [float(row[key]) for row in probabilities]
        result = {"success": True, "errorMessage": "", "consoleOutput": "", "changedFiles": [],
                  "outputFiles": {}, "outputParameters": {"outputData": columns}}
        return Response(json.dumps(result, separators=(",", ":")).encode(), media_type="application/json")

    starlette_app.router.routes.append(Route("/predict-onnx", predict_onnx, methods=["POST"]))

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
'''


# --- targets -------------------------------------------------------------------------------
class Target:
    """One URL to load: where, what to send, and the raw request bytes for the socket client."""

    def __init__(self, name: str, port: int, path: str, token: str | None = None, body: bytes = BODY) -> None:
        self.name, self.port, self.path, self.body = name, port, path, body
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.raw_request = head.encode() + body

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return int(value)
    raise ValueError("the server answered without Content-Length")


class RawConnection:
    """A blocking HTTP/1.1 keep-alive connection: send fixed bytes, read one framed answer."""

    def __init__(self, target: Target) -> None:
        self.sock = socket.create_connection(("127.0.0.1", target.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = target.raw_request
        self.buffer = b""

    def roundtrip(self) -> int:
        self.sock.sendall(self.request)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buffer += chunk
        head = buffer[:end]
        total = end + 4 + _content_length(head)
        while len(buffer) < total:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buffer += chunk
        self.buffer = buffer[total:]
        return int(head[9:12])

    def close(self) -> None:
        self.sock.close()


async def raw_async_connection(target: Target):
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = target.raw_request

    async def roundtrip() -> int:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(_content_length(head[:-4]))
        return int(head[9:12])

    return roundtrip, writer


# --- the load generator: one forked process runs `conns` connections --------------------------
def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def client_process(kind: str, target: Target, conns: int, count: int, ready, start, results) -> None:
    """Run `count` requests over `conns` connections (sync if 1, asyncio otherwise); report back."""
    try:
        if conns == 1:
            outcome = _run_sync(kind, target, count, ready, start)
        else:
            try:
                import uvloop

                loop = uvloop.new_event_loop()
            except ImportError:
                loop = asyncio.new_event_loop()
            outcome = loop.run_until_complete(_run_async(kind, target, conns, count, ready, start))
            loop.close()
        results.put(outcome)
    except BaseException as exc:  # report, so the parent does not wait forever
        ready.release()
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def _run_sync(kind: str, target: Target, count: int, ready, start) -> dict:
    if kind == "raw":
        conn = RawConnection(target)
        call = conn.roundtrip
    else:
        client = httpx.Client(base_url=target.base_url, headers=target.headers, timeout=120)

        def call() -> int:
            return client.post(target.path, content=target.body).status_code

    call()  # connect, and a first request off the clock
    ready.release()
    start.wait()
    latencies, errors = [], 0
    clock = time.perf_counter_ns
    cpu0, t0 = _cpu_seconds(), time.monotonic_ns()
    for _ in range(count):
        begin = clock()
        status = call()
        latencies.append(clock() - begin)
        errors += status != 200
    t1, cpu1 = time.monotonic_ns(), _cpu_seconds()
    return {"latencies": latencies, "errors": errors, "t0": t0, "t1": t1, "cpu": cpu1 - cpu0}


async def _run_async(kind: str, target: Target, conns: int, count: int, ready, start) -> dict:
    calls = []
    closers = []
    if kind == "raw":
        for _ in range(conns):
            roundtrip, writer = await raw_async_connection(target)
            calls.append(roundtrip)
            closers.append(writer.close)
    elif kind == "httpx-pool":
        # One AsyncClient whose pool holds every connection: httpcore's pool bookkeeping grows
        # with the number of waiting requests, so this is client-bound early (kept to show it).
        limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
        client = httpx.AsyncClient(base_url=target.base_url, headers=target.headers, timeout=120, limits=limits)

        async def post() -> int:
            return (await client.post(target.path, content=target.body)).status_code

        calls = [post] * conns
        closers.append(client.aclose)
    else:
        # One AsyncClient (pool of one keep-alive connection) per simulated user.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        for _ in range(conns):
            client = httpx.AsyncClient(base_url=target.base_url, headers=target.headers, timeout=120, limits=limits)

            async def post(client=client) -> int:
                return (await client.post(target.path, content=target.body)).status_code

            calls.append(post)
            closers.append(client.aclose)
    # Open every connection and send one request on each before the clock starts.
    await asyncio.gather(*(c() for c in calls))
    ready.release()
    await asyncio.get_running_loop().run_in_executor(None, start.wait)
    latencies: list[int] = []
    errors = 0
    remaining = count
    clock = time.perf_counter_ns

    async def loop(call) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            begin = clock()
            status = await call()
            latencies.append(clock() - begin)
            errors += status != 200

    cpu0, t0 = _cpu_seconds(), time.monotonic_ns()
    await asyncio.gather(*(loop(c) for c in calls))
    t1, cpu1 = time.monotonic_ns(), _cpu_seconds()
    for close in closers:
        if asyncio.iscoroutine(done := close()):
            await done
    return {"latencies": latencies, "errors": errors, "t0": t0, "t1": t1, "cpu": cpu1 - cpu0}


def percentile(sorted_values: list[int], q: float) -> float:
    """Nearest-rank percentile of nanosecond values, in microseconds."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index] / 1000


def run_load(kind: str, target: Target, concurrency: int, count: int, procs: int, server_pids: list[int]) -> dict:
    """Fork client processes, release them together, collect latencies and CPU use."""
    ctx = mp.get_context("fork")
    procs = max(1, min(procs, concurrency))
    ready, start, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    workers = []
    for index in range(procs):
        conns = concurrency // procs + (index < concurrency % procs)
        share = count * conns // concurrency
        p = ctx.Process(target=client_process, args=(kind, target, conns, share, ready, start, results), daemon=True)
        p.start()
        workers.append(p)
    for _ in workers:
        ready.acquire()
    server_cpu0, machine0 = cpu_by_pid(server_pids), machine_busy_seconds()
    start.set()
    outcomes = [results.get(timeout=600) for _ in workers]
    server_cpu1, machine1 = cpu_by_pid(server_pids), machine_busy_seconds()
    for p in workers:
        p.join(timeout=30)
    failed = [o["error"] for o in outcomes if "error" in o]
    if failed:
        raise RuntimeError(f"load generator failed: {failed}")
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    wall = (max(o["t1"] for o in outcomes) - min(o["t0"] for o in outcomes)) / 1e9
    server_cpu = sum(server_cpu1.get(pid, 0.0) - server_cpu0.get(pid, 0.0) for pid in server_cpu1)
    n = len(latencies)
    client_cpu = sum(o["cpu"] for o in outcomes)
    # CPU the rest of the machine used meanwhile (other programs): noise, in % of all cores.
    other = (machine1 - machine0 - server_cpu - client_cpu) / (wall * os.cpu_count()) * 100
    return {
        "target": target.name,
        "client": kind,
        "concurrency": concurrency,
        "client_procs": procs,
        "requests": n,
        "errors": sum(o["errors"] for o in outcomes),
        "wall_s": wall,
        "rps": n / wall,
        "mean_us": sum(latencies) / n / 1000,
        "p50_us": percentile(latencies, 50),
        "p90_us": percentile(latencies, 90),
        "p99_us": percentile(latencies, 99),
        "max_us": latencies[-1] / 1000,
        "client_cpu_us_per_req": client_cpu / n * 1e6,
        "other_cpu_pct": max(0.0, other),
        "server_cpu_us_per_req": server_cpu / n * 1e6,
        # the server's own process (event loop) vs its children (o16n's worker processes)
        "server_main_cpu_us_per_req": sum(server_cpu1.get(p, 0.0) - server_cpu0.get(p, 0.0) for p in server_pids) / n * 1e6,
    }


# --- processes: CPU and memory ----------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    if psutil is not None:
        try:
            return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
    children = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            children += process_tree(int(child))
    return children


def cpu_by_pid(roots: list[int]) -> dict[int, float]:
    """user+system CPU seconds of each process in the trees under `roots`."""
    out = {}
    for root in roots:
        for pid in process_tree(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
    return out


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (user+nice+system; softirq excluded:
    loopback TCP work lands there and belongs to this benchmark)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return sum(int(fields[i]) for i in (0, 1, 2)) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> dict:
    """RSS (and USS when psutil can read it) in MiB; `model` tells whether sklearn's libsvm is mapped."""
    info: dict = {"pid": pid}
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
        info["model"] = "libsvm" in maps or "onnxruntime" in maps
    except OSError:
        pass
    if psutil is not None:
        proc = psutil.Process(pid)
        try:
            full = proc.memory_full_info()
            info["rss_mib"], info["uss_mib"] = full.rss / 2**20, full.uss / 2**20
        except psutil.AccessDenied:
            info["rss_mib"] = proc.memory_info().rss / 2**20
        return info
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            info["rss_mib"] = int(line.split()[1]) / 1024
    return info


# --- o16n and baseline set-up -----------------------------------------------------------------
def check(response: httpx.Response, status: int = 200) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}")
    return response


def setup_o16n(server: LiveServer, client: httpx.Client) -> dict:
    """Train in a session, snapshot, publish; time the publish and the first (cold) consume."""
    times = {}
    t = time.perf_counter()
    session_id = check(client.post("/sessions", json={"name": "bench"}), 201).json()["sessionId"]
    result = check(client.post(f"/sessions/{session_id}/execute", json={"code": TRAIN_CODE})).json()
    if not result["success"]:
        raise RuntimeError(f"training failed: {result['errorMessage']}")
    snapshot_id = check(client.post(f"/sessions/{session_id}/snapshot", json={"name": "iris"}), 201).json()["snapshotId"]
    times["session_train_snapshot_s"] = time.perf_counter() - t
    check(client.delete(f"/sessions/{session_id}"))  # serve without the session's process around
    time.sleep(1.0)  # let the spare-worker refill after the session settle
    publish = {
        "snapshotId": snapshot_id,
        "code": SERVICE_CODE,
        "runtimeType": "Python",
        "description": "bench/consume.py",
        "inputParameterDefinitions": [{"name": "flower_data", "type": "vector"}],
        "outputParameterDefinitions": [{"name": "iris_type", "type": "character"}],
    }
    t = time.perf_counter()
    check(client.post(f"/services/{SERVICE}/{VERSION}", json=publish), 201)
    times["publish_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    answer = check(client.post(f"/api/{SERVICE}/{VERSION}", content=BODY, headers={"Content-Type": "application/json"}))
    times["first_consume_ms"] = (time.perf_counter() - t) * 1000
    output = answer.json()
    if output["outputParameters"].get("iris_type") != EXPECTED:
        raise RuntimeError(f"unexpected answer: {output}")
    status = check(client.get("/status")).json()
    backend = next(iter(status["components"]["backends"]["components"].values()))["details"]
    times["pool_size_after_first_consume"] = backend["pythonCurrentPoolSize"]
    t = time.perf_counter()
    check(client.post(f"/api/{SERVICE}/{VERSION}", content=BODY, headers={"Content-Type": "application/json"}))
    times["second_consume_ms"] = (time.perf_counter() - t) * 1000
    # Publish warms one worker in the background: a first consume that comes a few seconds
    # later should find it ready. A throw-away version shows that, then goes away.
    check(client.post(f"/services/{SERVICE}/warm-check", json=publish), 201)
    time.sleep(WARM_WAIT)
    t = time.perf_counter()
    check(client.post(f"/api/{SERVICE}/warm-check", content=BODY, headers={"Content-Type": "application/json"}))
    times["first_consume_after_wait_ms"] = (time.perf_counter() - t) * 1000
    check(client.delete(f"/services/{SERVICE}/warm-check"))
    return times


def setup_frame(client: httpx.Client, rows: int) -> None:
    """Publish FrameBench/v1: no inputs, one data.frame output of `rows` rows (4 columns)."""
    check(client.post(f"/services/{FRAME_SERVICE}/{VERSION}", json={
        "code": "frame = table", "initCode": FRAME_INIT.format(rows=rows), "runtimeType": "Python",
        "outputParameterDefinitions": [{"name": "frame", "type": "data.frame"}]}), 201)
    answer = check(client.post(f"/api/{FRAME_SERVICE}/{VERSION}", content=b"{}", headers={"Content-Type": "application/json"}))
    if len(answer.json()["outputParameters"]["frame"]["id"]) != rows:
        raise RuntimeError(f"unexpected frame answer: {answer.text[:200]}")


def grow_pool(target: Target, concurrency: int) -> None:
    """`concurrency` requests at once, twice, off the clock, so the pool grows to its size."""
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=target.base_url, headers=target.headers, timeout=300,
                      limits=httpx.Limits(max_connections=concurrency)) as client, ThreadPoolExecutor(concurrency) as pool:
        for _ in range(2):
            list(pool.map(lambda _i: check(client.post(target.path, content=target.body)), range(concurrency)))


def settle_pools(server: LiveServer, timeout: float = 120.0) -> None:
    """Wait until the server and its workers are idle (under 5 % of a core for a second): a pool
    worker still loading its snapshot in the background would take CPU from the measured rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_by_pid([server.process.pid])
        time.sleep(1.0)
        after = cpu_by_pid([server.process.pid])
        if sum(after.get(pid, 0.0) - before.get(pid, 0.0) for pid in after) < 0.05:
            return


def time_cold_starts(tmpdir: Path, count: int) -> list[float]:
    """Seconds from POST /sessions to 201 on a server without spare workers: a worker start each."""
    server = LiveServer(tmpdir / "cold-data", spare_workers=0).start()
    times = []
    try:
        with server.client() as client:
            for _ in range(count + 1):
                t = time.perf_counter()
                session_id = check(client.post("/sessions", json={}), 201).json()["sessionId"]
                times.append(time.perf_counter() - t)
                check(client.delete(f"/sessions/{session_id}"))
    finally:
        server.stop()
    return times[1:]  # the first start also pays for cold file caches


def start_baseline(workdir: Path, onnx_model: Path | None = None) -> tuple[subprocess.Popen, int, float]:
    script = workdir / "baseline_app.py"
    script.write_text(textwrap.dedent(BASELINE_APP))
    port = free_port()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # as o16n's workers
    log = open(workdir / "baseline.log", "ab")
    t = time.perf_counter()
    command = [sys.executable, str(script), str(port)] + ([str(onnx_model)] if onnx_model else [])
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"baseline exited early:\n{(workdir / 'baseline.log').read_text()}")
        try:
            httpx.post(f"http://127.0.0.1:{port}/null", timeout=1)
            return process, port, time.perf_counter() - t
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("baseline did not start")


# --- realtime services (--realtime) ------------------------------------------------------------
RT_SERVICE = "IrisRT"
RT_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def iris_onnx(path: Path) -> bytes:
    """The bench's SVC (trained as in TRAIN_CODE) as ONNX, written to `path` for the floor."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    clf = svm.SVC().fit(iris.data, iris.target)
    data = to_onnx(clf, iris.data[:1].astype(np.float32), target_opset=17).SerializeToString()
    path.write_bytes(data)
    return data


def frame_body(rows: int) -> bytes:
    """`{"inputData": {column: [...]}}` of `rows` iris flowers (the data set, repeated)."""
    from sklearn import datasets

    data = datasets.load_iris().data
    picked = [data[i % len(data)] for i in range(rows)]
    return json.dumps({"inputData": {c: [float(r[i]) for r in picked] for i, c in enumerate(RT_COLUMNS)}}).encode()


def setup_realtime(client: httpx.Client, model: bytes) -> dict:
    """Publish IrisRT/v1 by multipart; time the publish and the first consume (a model worker starts)."""
    times = {}
    t = time.perf_counter()
    check(client.post(f"/realtime-services/{RT_SERVICE}/{VERSION}", files={"model": ("iris.onnx", model)},
                      data={"description": "bench/consume.py"}), 201)
    times["publish_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    answer = check(client.post(f"/api/{RT_SERVICE}/{VERSION}", content=frame_body(1),
                               headers={"Content-Type": "application/json"})).json()
    times["first_consume_ms"] = (time.perf_counter() - t) * 1000
    if answer["outputParameters"]["outputData"]["output_label"] != [0]:
        raise RuntimeError(f"unexpected realtime answer: {answer}")
    return times


# --- reporting -----------------------------------------------------------------------------
def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| target | client | c | requests | p50 µs | p90 µs | p99 µs | max µs | req/s | client CPU µs/req | server CPU µs/req (main + workers) | other load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['target']} | {r['client']} | {r['concurrency']} | {r['requests']}"
            + (f" ({r['errors']} errors)" if r["errors"] else "")
            + f" | {fmt(r['p50_us'])} | {fmt(r['p90_us'])} | {fmt(r['p99_us'])} | {fmt(r['max_us'])}"
            f" | {fmt(r['rps'])} | {fmt(r['client_cpu_us_per_req'])} | {fmt(r['server_cpu_us_per_req'])}"
            + (f" ({fmt(r['server_main_cpu_us_per_req'])} + {fmt(r['server_cpu_us_per_req'] - r['server_main_cpu_us_per_req'])})"
               if r["target"].startswith("o16n") else "") + f" | {r['other_cpu_pct']:.0f} % |"
        )
    return "\n".join(lines)


def realtime_table(rows: list[dict], pairs: list[tuple[str, str]], frame_rows: int) -> str:
    """Realtime targets against their floor (the model scored in the bare app), same client and c."""
    lines = [
        "| target | floor | client | c | p50 µs | floor p50 µs | p50 ratio | p99 ratio | req/s | rows/s | req/s ratio |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    index = {(r["target"], r["client"], r["concurrency"]): r for r in rows}
    for target, floor in pairs:
        for (name, kind, c), o in index.items():
            b = index.get((floor, kind, c))
            if name != target or b is None:
                continue
            per = frame_rows if "rows" in target else 1
            lines.append(
                f"| {target} | {floor} | {kind} | {c} | {fmt(o['p50_us'])} | {fmt(b['p50_us'])} | {o['p50_us'] / b['p50_us']:.2f}×"
                f" | {o['p99_us'] / b['p99_us']:.2f}× | {fmt(o['rps'])} | {fmt(o['rps'] * per)} | {o['rps'] / b['rps']:.2f}× |"
            )
    return "\n".join(lines)


def ratio_table(rows: list[dict]) -> str:
    lines = [
        "| client | c | p50 o16n/baseline | p99 o16n/baseline | req/s o16n/baseline | server CPU/req o16n/baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    index = {(r["target"], r["client"], r["concurrency"]): r for r in rows}
    for (target, kind, c), o in index.items():
        b = index.get(("baseline", kind, c))
        if target != "o16n" or b is None:
            continue
        lines.append(
            f"| {kind} | {c} | {o['p50_us'] / b['p50_us']:.2f}× | {o['p99_us'] / b['p99_us']:.2f}×"
            f" | {o['rps'] / b['rps']:.2f}× | {o['server_cpu_us_per_req'] / b['server_cpu_us_per_req']:.2f}× |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per point (default 3000)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests before c=1 (default 300)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32], help="levels above 1 (default 8 32)")
    parser.add_argument("--client", choices=["httpx", "httpx-pool", "raw", "both"], default="both", help="load generator (default both)")
    parser.add_argument("--client-procs", type=int, default=1,
                        help="client processes for c>1 (default 1: an extra process takes a core from the server)")
    parser.add_argument("--json", type=Path, help="write raw numbers here")
    parser.add_argument("--bearer", help="also consume with this bearer token (row 'o16n-bearer'), e.g. an OIDC "
                        "access token from an issuer the --server-setting options trust")
    parser.add_argument("--frame-rows", type=int, default=0,
                        help="also load a service answering a data frame of this many rows (e.g. 1000; default off)")
    parser.add_argument("--cold-starts", type=int, default=0,
                        help="also time this many worker starts (POST /sessions without spare workers; default off)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline and /null rows")
    parser.add_argument("--server-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="an o16n setting for the server under test, e.g. worker_sandbox=off (repeatable)")
    parser.add_argument("--realtime", action="store_true",
                        help="also load realtime service IrisRT (ONNX), sandboxed and in-process, next to its floor")
    parser.add_argument("--realtime-rows", type=int, default=1000, help="rows of the realtime frame rows (default 1000; 0: none)")
    parser.add_argument("--realtime-requests", type=int, default=0,
                        help="measured requests per frame row (default: --requests / 5)")
    args = parser.parse_args()
    kinds = ["httpx", "raw"] if args.client == "both" else [args.client]
    levels = [1] + sorted({c for c in args.concurrency if c > 1})

    report: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                               if line.startswith("model name")), platform.processor()),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
        "settings": vars(args) | {"json": str(args.json) if args.json else None, "bearer": bool(args.bearer)},
    }
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="o16n-bench-") as tmp:
        tmpdir = Path(tmp)
        t = time.perf_counter()
        server = LiveServer(tmpdir / "data", **dict(item.split("=", 1) for item in args.server_setting)).start()
        report["o16n_server_start_s"] = time.perf_counter() - t
        baseline = None
        in_process = None
        try:
            with server.client() as client:
                report["o16n_setup"] = setup_o16n(server, client)
                if args.frame_rows:
                    setup_frame(client, args.frame_rows)
                token = client.headers["Authorization"].split(" ", 1)[1]
            o16n = Target("o16n", server.port, f"/api/{SERVICE}/{VERSION}", token)
            o16n_pids = [server.process.pid]
            targets = [(o16n, o16n_pids)]
            if args.bearer:  # the same service, the caller known by an external token instead of o16n's
                targets.append((Target("o16n-bearer", server.port, f"/api/{SERVICE}/{VERSION}", args.bearer), o16n_pids))
            if args.frame_rows:
                frame = Target(f"o16n frame {args.frame_rows} rows", server.port, f"/api/{FRAME_SERVICE}/{VERSION}", token, body=b"{}")
                targets.append((frame, o16n_pids))
            realtime_pairs: list[tuple[str, str]] = []
            frame_targets: set[str] = set()
            onnx_path = None
            if args.realtime:
                onnx_path = tmpdir / "iris.onnx"
                model = iris_onnx(onnx_path)
                with server.client() as client:
                    report["realtime_setup"] = setup_realtime(client, model)
                in_process = LiveServer(tmpdir / "data-in-process", realtime_in_process="true",
                                        **dict(item.split("=", 1) for item in args.server_setting)).start()
                with in_process.client() as client:
                    report["realtime_in_process_setup"] = setup_realtime(client, model)
                    in_process_token = client.headers["Authorization"].split(" ", 1)[1]
                path = f"/api/{RT_SERVICE}/{VERSION}"
                shapes = [("", frame_body(1))]
                if args.realtime_rows:
                    shapes.append((f" {args.realtime_rows} rows", frame_body(args.realtime_rows)))
                for suffix, body in shapes:
                    targets.append((Target(f"o16n realtime{suffix}", server.port, path, token, body=body), o16n_pids))
                    targets.append((Target(f"o16n realtime in-process{suffix}", in_process.port, path, in_process_token,
                                           body=body), [in_process.process.pid]))
                    realtime_pairs += [(f"o16n realtime{suffix}", f"floor onnx{suffix}"),
                                       (f"o16n realtime in-process{suffix}", f"floor onnx{suffix}")]
                    if suffix:
                        frame_targets |= {f"o16n realtime{suffix}", f"o16n realtime in-process{suffix}", f"floor onnx{suffix}"}
            if not args.no_baseline:
                baseline, baseline_port, report["baseline_start_s"] = start_baseline(tmpdir, onnx_path)
                base = Target("baseline", baseline_port, "/predict")
                null = Target("null (raw ASGI, no model)", baseline_port, "/null")
                base_pids = [baseline.pid]
                targets.append((base, base_pids))
                if args.realtime:
                    for suffix, body in shapes:
                        targets.append((Target(f"floor onnx{suffix}", baseline_port, "/predict-onnx", body=body), base_pids))

            # Grow the pools first with a client that reconnects: the raw client's idle keep-alive
            # connections would be closed by the server (5 s) while slow cold starts run.
            for target, _pids in targets:
                grow_pool(target, levels[-1])
            settle_pools(server)
            # Warm-up: c=1, then the highest concurrency, so o16n's pool has grown before measuring.
            for target, pids in targets:
                run_load("raw", target, 1, args.warmup, 1, pids)
                run_load("raw", target, levels[-1], max(args.warmup, 20 * levels[-1]), args.client_procs, pids)
            for kind in kinds:
                if not args.no_baseline:
                    rows.append(run_load(kind, null, 1, args.requests, 1, base_pids))
                for c in levels:
                    for target, pids in targets:
                        procs = 1 if c == 1 else args.client_procs
                        count = (args.realtime_requests or max(100, args.requests // 5)) if target.name in frame_targets else args.requests
                        rows.append(run_load(kind, target, c, count, procs, pids))
                        print(f"# {target.name:8} {kind:5} c={c:<3} p50 {rows[-1]['p50_us']:8.0f} µs"
                              f"  {rows[-1]['rps']:7.0f} req/s", file=sys.stderr, flush=True)

            with server.client() as client:
                status = check(client.get("/status")).json()
            backend = next(iter(status["components"]["backends"]["components"].values()))["details"]
            report["o16n_pool"] = {k: backend[k] for k in ("pythonCurrentPoolSize", "pythonMaxPoolSize", "spareWorkers")}
            report["memory"] = {
                "o16n_server": memory_of(server.process.pid),
                "o16n_workers": [memory_of(pid) for pid in process_tree(server.process.pid)[1:]],
                "baseline": memory_of(baseline.pid) if baseline is not None else None,
            }
            if in_process is not None:
                report["memory"]["o16n_in_process_server"] = memory_of(in_process.process.pid)
        finally:
            if baseline is not None:
                baseline.terminate()
                baseline.wait(timeout=30)
            if in_process is not None:
                in_process.stop()
            server.stop()
        if args.cold_starts:
            report["cold_starts_s"] = time_cold_starts(tmpdir, args.cold_starts)
    report["machine"]["loadavg_at_end"] = os.getloadavg()
    report["results"] = rows

    setup, mem = report["o16n_setup"], report["memory"]
    out = [
        f"## o16n consume benchmark — {report['date']}",
        "",
        f"{report['machine']['cpus']} CPUs ({report['machine']['cpu_model']}), Python {report['machine']['python']}, "
        f"load average at start {report['machine']['loadavg_at_start'][0]:.2f}, at end {report['machine']['loadavg_at_end'][0]:.2f}. "
        f"POST {{\"flower_data\":[5.1,3.5,1.4,0.2]}}, {args.requests} requests per row; "
        f"c>1 uses {args.client_procs} client process(es).",
        "",
        table(rows),
        "",
        "o16n / baseline:",
        "",
        ratio_table(rows),
        "",
        "| o16n lifecycle | value |",
        "|---|---:|",
        f"| server start (process to first /status) | {report['o16n_server_start_s'] * 1000:,.0f} ms |",
        f"| session + train SVC + snapshot | {setup['session_train_snapshot_s'] * 1000:,.0f} ms |",
        f"| publish (POST /services/{SERVICE}/{VERSION} to 201) | {setup['publish_ms']:,.1f} ms |",
        f"| first consume right after publish (cold) | {setup['first_consume_ms']:,.1f} ms |",
        f"| pool workers right after that first consume | {setup['pool_size_after_first_consume']} |",
        f"| second consume | {setup['second_consume_ms']:,.1f} ms |",
        f"| first consume {WARM_WAIT:g} s after publishing another version (publish-time warm-up done) | {setup['first_consume_after_wait_ms']:,.1f} ms |",
        f"| pool workers after the run (max) | {report['o16n_pool']['pythonCurrentPoolSize']} ({report['o16n_pool']['pythonMaxPoolSize']}), "
        f"spare {report['o16n_pool']['spareWorkers']} |",
        "",
        "| process | pid | RSS MiB | USS MiB |",
        "|---|---:|---:|---:|",
    ]
    if args.realtime:
        rt, rt_in = report["realtime_setup"], report["realtime_in_process_setup"]
        out[out.index("| o16n lifecycle | value |"):out.index("| o16n lifecycle | value |")] = [
            f"Realtime service {RT_SERVICE}/{VERSION} (the SVC as ONNX) against its floor (the same ONNX file scored by "
            "onnxruntime in the bare Starlette app); rows/s = req/s × rows per request:",
            "",
            realtime_table(rows, realtime_pairs, args.realtime_rows),
            "",
            f"Realtime publish (multipart to 201): {rt['publish_ms']:,.1f} ms sandboxed, {rt_in['publish_ms']:,.1f} ms in-process; "
            f"first consume: {rt['first_consume_ms']:,.1f} ms sandboxed (a model worker starts), "
            f"{rt_in['first_consume_ms']:,.1f} ms in-process.",
            "",
        ]
    procs = [("o16n server", mem["o16n_server"])] + [("o16n worker (service slot)" if m.get("model") else "o16n worker (spare, no model)", m) for m in mem["o16n_workers"]]
    if mem.get("o16n_in_process_server"):
        procs.append(("o16n server with realtime_in_process (its own workers not listed)", mem["o16n_in_process_server"]))
    if mem["baseline"] is not None:
        procs.append(("baseline (uvicorn+SVC)", mem["baseline"]))
    for label, m in procs:
        out.append(f"| {label} | {m['pid']} | {m['rss_mib']:.1f} | {m.get('uss_mib', float('nan')):.1f} |")
    total = mem["o16n_server"]["rss_mib"] + sum(m["rss_mib"] for m in mem["o16n_workers"])
    out.append(f"| o16n total (server + {len(mem['o16n_workers'])} workers) | | {total:.1f} | "
               f"{mem['o16n_server'].get('uss_mib', 0) + sum(m.get('uss_mib', 0) for m in mem['o16n_workers']):.1f} |")
    if args.cold_starts:
        starts = sorted(report["cold_starts_s"])
        out += ["", f"Cold worker start (POST /sessions without spare workers, {len(starts)} starts): "
                f"p50 {starts[len(starts) // 2] * 1000:,.0f} ms, min {starts[0] * 1000:,.0f} ms, max {starts[-1] * 1000:,.0f} ms"]
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
