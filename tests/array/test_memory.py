"""Memory-bounded execution, measured in a fresh process (peak RSS from the kernel).

Two 10000 x 40000 float64 arrays (3.2 GB each, 32 blocks of 100 MB), row
means on the threads scheduler with 2 workers:

* random normals: each block is drawn and reduced slab by slab, never held;
* ``ones + 1``: every block is materialised, so the bound comes from the
  scheduler's order and from releasing blocks once their partial exists.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import shoal.array as da
    if sys.argv[1] == "random":
        x = da.random.normal(0, 1, size=(10000, 40000), chunks=(2500, 5000))
    else:
        x = da.ones((10000, 40000), chunks=(2500, 5000)) + 1
    t = time.perf_counter()
    r = x.mean(axis=1).compute(scheduler="threads", num_workers=2)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "seconds": time.perf_counter() - t, "n": len(r),
                      "max_abs": float(abs(r - (0 if sys.argv[1] == "random" else 2)).max())}))
""")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("source", ["random", "materialised"])
def test_row_mean_of_3_2_gb_array_stays_small(source):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, source], capture_output=True, text=True,
                          timeout=280, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 10000
    assert out["max_abs"] < 0.05  # 40000 standard normals per row: mean ~ N(0, 0.005)
    # the array is 3.2 GB; two workers need a few 100 MB blocks at a time at most
    assert out["peak_mb"] < 800, out
