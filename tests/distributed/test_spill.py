"""The worker's spill buffer: LRU order, values that cannot be pickled, threads."""
from __future__ import annotations

import os
import threading

import numpy as np

from shoal.distributed.worker.spill import SpillBuffer


def test_least_recently_used_values_spill_and_come_back(tmp_path):
    buf = SpillBuffer(str(tmp_path), target=3 * 8000)
    for i in range(5):
        buf[f"a{i}"] = np.full(1000, i, dtype="f8")
    _ = buf["a0"]  # loaded back, now most recent
    assert buf.fast_bytes <= 3 * 8000 + 8000 and buf.spilled_bytes > 0
    for i in range(5):
        assert buf[f"a{i}"][0] == i
    assert set(buf) == {f"a{i}" for i in range(5)}


def test_a_value_that_cannot_be_pickled_does_not_stop_the_others(tmp_path):
    import threading as th

    buf = SpillBuffer(str(tmp_path), target=1000)
    buf["lock"] = th.Lock()          # not picklable, by any pickler
    buf["fn"] = lambda x: x + 1      # a lambda spills (cloudpickle)
    for i in range(20):
        buf[f"v{i}"] = np.full(100, i, dtype="f8")
    assert buf.fast_bytes <= 1000 + 800
    assert "lock" in buf.fast and "lock" in buf.unspillable
    files = os.listdir(tmp_path)
    assert len(files) == len(buf.slow)  # no half-written files left behind
    assert buf["fn"](1) == 2 and buf["v3"][0] == 3
    del buf["v3"]
    buf.clear()
    assert os.listdir(tmp_path) == []


def test_readers_on_threads_while_values_spill(tmp_path):
    buf = SpillBuffer(str(tmp_path), target=4000)
    buf["shared"] = np.arange(400, dtype="f8")
    errors = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                assert buf["shared"][10] == 10
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(300):  # writes evict, including "shared", over and over
        buf[f"w{i}"] = np.ones(400)
        if i % 3 == 0:
            del buf[f"w{i}"]
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
