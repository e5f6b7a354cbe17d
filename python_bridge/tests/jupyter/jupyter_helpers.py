"""Helpers shared by the Jupyter extension tests."""

from __future__ import annotations

import asyncio
import time


async def wait_job(api, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = await api("GET", "publish", job_id)
        assert status == 200, job
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.3)
    raise AssertionError(f"publish job {job_id} still running: {job}")


TRAIN_IRIS = """
from sklearn import datasets, svm
import numpy as np
_iris = datasets.load_iris()
clf = svm.SVC().fit(_iris.data, _iris.target)
names = list(_iris.target_names)

def predict_species(flower_data: list) -> str:
    import numpy
    return names[int(clf.predict(numpy.array([flower_data]))[0])]
"""

SETOSA = [5.1, 3.5, 1.4, 0.2]
