"""A ~100 MB numpy array goes from a kernel into a service, streamed (not held in Jupyter's memory)."""

from __future__ import annotations

import asyncio
import os
import resource
import time

import pytest

pytestmark = pytest.mark.timeout(900)

MB = 1024 * 1024
SIZE_MB = int(os.environ.get("O16N_BIG_MB", "100"))  # O16N_BIG_MB=500 for the 500 MB figure
ITEMS = SIZE_MB * MB // 8


async def test_publish_a_big_array(api, start_kernel, run_cell):
    kernel = await start_kernel()
    await run_cell(kernel, f"import numpy as np\nbig = np.arange({ITEMS}, dtype=np.float64)\n")
    status, found = await api("GET", "kernels", kernel, "namespace")
    assert status == 200
    big = next(v for v in found["objects"] if v["name"] == "big")
    assert big["picklable"] is True and big["size"] >= SIZE_MB * MB and big["shape"] == [ITEMS]

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    status, job = await api("POST", "publish", body={
        "kernelId": kernel, "name": "Big", "version": "1", "objects": ["big"],
        "code": "n = int(big.shape[0])\nlast = float(big[-1])",
        "outputs": [{"name": "n", "type": "integer"}, {"name": "last", "type": "numeric"}]})
    assert status == 202
    progress = []
    while True:
        status, state = await api("GET", "publish", job["jobId"])
        progress.append((state["step"], state["bytesUploaded"]))
        if state["state"] != "running":
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    assert state["state"] == "done", state
    assert state["totalBytes"] >= SIZE_MB * MB and state["bytesUploaded"] == state["totalBytes"]
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before
    print(f"published {state['totalBytes'] / MB:.0f} MB in {elapsed:.1f} s; Jupyter peak RSS grew {growth / MB:.0f} MB")
    assert growth < 50 * MB  # streamed from the file in 1 MB chunks, never held whole

    status, result = await api("POST", "services", "Big", "1", "consume", body={"inputs": {}})
    assert status == 200, result
    assert result["outputParameters"] == {"n": ITEMS, "last": float(ITEMS - 1)}
    await api("DELETE", "services", "Big", "1")
