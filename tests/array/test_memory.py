"""Memory-bounded execution, measured in a fresh process (peak RSS from the kernel)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, resource, time
    import shoal.array as da
    x = da.random.normal(0, 1, size=(10000, 40000), chunks=(2500, 5000))   # 3.2 GB, never held
    t = time.perf_counter()
    r = x.mean(axis=1).compute(scheduler="threads", num_workers=2)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "seconds": time.perf_counter() - t, "n": len(r),
                      "max_abs": float(abs(r).max())}))
""")


def test_row_mean_of_3_2_gb_array_stays_small():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=280, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 10000
    assert out["max_abs"] < 0.05  # 40000 standard normals per row: mean ~ N(0, 0.005)
    # the array is 3.2 GB (32 blocks of 100 MB); two workers need a few blocks at a time
    assert out["peak_mb"] < 800, out
