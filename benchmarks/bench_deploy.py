"""Adaptive SLURM scaling: shoal's SLURMCluster beside dask-jobqueue, same SLURM, same run.

The tutorial's section 9.1 case: each job holds P worker processes on P cores,
``adapt(minimum=0, maximum=2P)``, and N half-second tasks.  A private SLURM
(scripts/services/slurm.sh: munge, slurmctld, one slurmd declaring 2P CPUs)
is started for the run and stopped after it.  Each library runs in its own
child process against it, one after the other, and is measured on:

* ``seconds``: from ``map`` to every task done (capped at ``--cap`` s: a
  library that has not finished by then is reported at the cap, marked);
* ``jobs``: how many SLURM jobs it submitted in all (2 is the right answer:
  more means jobs were started and killed in a loop, 1 means the second
  allowed job never came).

Full size is the tutorial's P=16, N=200 (32 worker processes on this
machine's cores, so it measures the policy, not speed); ``--quick`` uses
P=8, N=80.  Needs root and slurm-wlm + munge; otherwise says so and writes
nothing.

    python benchmarks/bench_deploy.py [--quick] [--repeat 1] [--cap 180]
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts", "services"))

from _common import write_results  # noqa: E402

CHILD = r'''
import json, os, resource, subprocess, sys, threading, time
lib, P, N, cap, logs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
seen, stop = set(), threading.Event()
def sample():
    while not stop.wait(0.3):
        seen.update(subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split())
if lib == "dask":
    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster
else:
    from shoal.distributed import Client
    from shoal.jobqueue import SLURMCluster
cluster = SLURMCluster(processes=P, cores=P, memory="1.9 GB", walltime="00:30:00", log_directory=logs)
threading.Thread(target=sample, daemon=True).start()
cluster.adapt(minimum=0, maximum=2 * P)
client = Client(cluster)
def task(i):
    time.sleep(0.5)
    return i
t0 = time.perf_counter()
futs = client.map(task, range(N))
while time.perf_counter() - t0 < cap and not all(f.done() for f in futs):
    time.sleep(0.2)
elapsed = time.perf_counter() - t0
done = sum(f.done() for f in futs)
stop.set()
print(json.dumps({"seconds": elapsed, "done": done, "jobs": len(seen),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
client.close()
cluster.close()
'''


def _one(lib: str, P: int, N: int, cap: float, env: dict) -> dict:
    logs = tempfile.mkdtemp(prefix=f"bench-deploy-{lib}-")
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, lib, str(P), str(N), str(cap), logs],
                             capture_output=True, text=True, env=env, timeout=cap + 120)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"{lib} run failed:\n{out.stderr[-3000:]}")
        return json.loads(lines[-1])
    finally:
        shutil.rmtree(logs, ignore_errors=True)
        # whatever the library left queued goes before the next run
        subprocess.run(["scancel", "--full", "-u", getpass.getuser()], env=env,
                       capture_output=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cap", type=float, default=None, help="seconds before a run counts as not finished")
    a = ap.parse_args(argv)
    P, N = (8, 80) if a.quick else (16, 200)
    cap = a.cap or (90.0 if a.quick else 180.0)
    if os.geteuid() != 0 or not shutil.which("slurmctld") and not os.path.exists("/usr/sbin/slurmctld"):
        print("bench_deploy: needs root and slurm-wlm + munge (a private SLURM is started); skipped")
        return 0
    import services

    slurm = services.start_slurm(nodes=1, cpus_per_node=2 * P)
    env = slurm.env
    try:
        runs = {lib: [_one(lib, P, N, cap, env) for _ in range(a.repeat)] for lib in ("shoal", "dask")}
    finally:
        slurm.stop()
    rows = []
    for metric, unit in (("seconds", "s"), ("jobs", "jobs")):
        cell = {lib: statistics.median(r[metric] for r in runs[lib]) for lib in runs}
        finished = {lib: all(r["done"] == N for r in runs[lib]) for lib in runs}
        note = "; ".join(f"{lib} finished {min(r['done'] for r in runs[lib])}/{N} tasks within {cap:g}s"
                         for lib in runs if not finished[lib])
        rows.append({
            "workload": f"adapt(maximum={2 * P}), {P} processes/job, {N} tasks: {metric}",
            "dask": round(cell["dask"], 2), "shoal": round(cell["shoal"], 2), "unit": unit,
            "ratio": round(cell["shoal"] / cell["dask"], 3) if cell["dask"] else None,
            "peak_mb_shoal": round(max(r["peak_mb"] for r in runs["shoal"]), 1),
            "peak_mb_dask": round(max(r["peak_mb"] for r in runs["dask"]), 1),
            "note": note,
        })
    print(f"{'workload':<58} {'dask':>8} {'shoal':>8} {'unit':>5} {'ratio':>7}")
    for r in rows:
        print(f"{r['workload']:<58} {r['dask']:>8} {r['shoal']:>8} {r['unit']:>5} {str(r['ratio']):>7}")
        if r["note"]:
            print(f"    ({r['note']})")
    print(f"(median of {a.repeat} run(s); a library that did not finish is shown at the cap)")
    write_results("deploy", {"rows": rows}, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
