"""``from_array`` puts its source in the graph once: process workers receive it once each."""
from __future__ import annotations

import os

import numpy as np

import shoal.array as da


class CountingSource:
    """A numpy-like that appends a line to ``path`` every time it is pickled."""

    def __init__(self, data: np.ndarray, path: str):
        self.data, self.path = data, path
        self.shape, self.dtype = data.shape, data.dtype

    def __getitem__(self, index):
        return self.data[index]

    def __reduce__(self):
        if os.getpid() == int(open(self.path + ".pid").read()):
            with open(self.path, "a") as f:
                f.write("x\n")
        return (CountingSource, (self.data, self.path))


def test_processes_ship_the_source_once_per_worker_not_per_task(tmp_path):
    path = str(tmp_path / "pickles")
    with open(path + ".pid", "w") as f:
        f.write(str(os.getpid()))
    a = np.arange(400.0).reshape(20, 20)
    x = da.from_array(CountingSource(a, path), chunks=(2, 2))  # 100 tasks read it
    got = (x + 1).sum(axis=0).compute(scheduler="processes", num_workers=2)
    np.testing.assert_allclose(got, (a + 1).sum(axis=0))
    n = len(open(path).read().split()) if os.path.exists(path) else 0
    assert 1 <= n <= 2, f"the source was pickled {n} times for 100 tasks"
