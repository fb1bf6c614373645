"""The worker process: results, progress, errors and a worker that dies."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.common.worker import Worker, WorkerError
from core.segment.projection import umap_projection


def counted(n: int, pause: float = 0.0, progress=None) -> dict:
    """Report n steps, then return where it ran (called by name in the worker)."""
    for i in range(n):
        progress((i + 1) / n, f"step {i + 1}")
        time.sleep(pause)
    return {"pid": os.getpid(), "total": sum(range(n))}


def exits(progress=None) -> None:
    """End the worker process as an out-of-memory kill would."""
    os._exit(9)


@pytest.fixture
def worker():
    w = Worker(name="test-worker")
    yield w
    w.stop()


def test_a_call_runs_in_another_process_and_reports_progress_to_the_caller(worker):
    seen = []
    result = worker.call(counted, 5, progress=lambda f, m: seen.append(
        (f, m, threading.current_thread().name)))
    assert result["pid"] != os.getpid() and result["pid"] == worker.pid
    assert result["total"] == 10
    here = threading.current_thread().name
    assert seen == [((i + 1) / 5, f"step {i + 1}", here) for i in range(5)]


def test_the_worker_is_kept_between_calls(worker):
    first = worker.call(counted, 1)["pid"]
    assert worker.call(counted, 2)["pid"] == first


def test_the_functions_error_is_raised_in_the_caller_with_its_type_and_text(worker):
    data = np.zeros((20, 2))
    with pytest.raises(ConfigError, match="Unknown metric 'nope'"):
        worker.call(umap_projection, data, pd.RangeIndex(20), metric="nope")
    assert worker.call(counted, 1)["total"] == 0  # still serving


def test_a_worker_that_dies_gives_a_clear_error_and_the_next_call_starts_another(worker):
    before = worker.call(counted, 1)["pid"]
    with pytest.raises(WorkerError, match=r"stopped .*exit code 9.*out of memory"):
        worker.call(exits)
    assert not worker.alive
    assert worker.call(counted, 1)["pid"] not in (before, None)


def test_calls_from_two_threads_each_get_their_own_result_and_progress(worker):
    results, progress = {}, {"a": [], "b": []}

    def run(name: str, n: int) -> None:
        results[name] = worker.call(counted, n, 0.01, progress=lambda f, m: progress[name]
                                    .append(m))

    threads = [threading.Thread(target=run, args=("a", 3)),
               threading.Thread(target=run, args=("b", 6))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results["a"]["total"] == 3 and results["b"]["total"] == 15
    assert progress == {"a": [f"step {i}" for i in (1, 2, 3)],
                        "b": [f"step {i}" for i in range(1, 7)]}


def test_nice_lowers_the_workers_priority():
    w = Worker(nice=5)
    try:
        pid = w.call(counted, 1)["pid"]
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(
            os.PRIO_PROCESS, 0) + 5
    finally:
        w.stop()


def test_stop_ends_the_process(worker):
    worker.call(counted, 1)
    process_id = worker.pid
    worker.stop()
    assert not worker.alive
    with pytest.raises(ProcessLookupError):
        os.kill(process_id, 0)
