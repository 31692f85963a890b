"""Run every benchmark (shoal beside Dask in the same run) and write the report.

Each ``benchmarks/bench_<area>.py`` runs standalone and writes
``benchmarks/results/<area>.json``; this script runs them one after the
other (so they do not compete for the cores), then writes
``benchmarks/results.md`` (table: workload, Dask, shoal, ratio, peak memory),
``benchmarks/results.json`` and ``docs/img/tasks_per_second.png``.

    python benchmarks/run_all.py            # full sizes
    python benchmarks/run_all.py --quick    # small sizes, a smoke run
    python benchmarks/run_all.py --only local,bag
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def machine() -> str:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def versions() -> str:
    out = []
    for mod in ("shoal", "dask", "distributed", "numpy", "pandas"):
        try:
            out.append(f"{mod} {__import__(mod).__version__}")
        except Exception:
            pass
    return ", ".join(out)


def fmt(v, unit: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if unit == "s":
        return f"{v:.2f} s"
    if unit in ("tasks/s", "lines/s"):
        return f"{v:,.0f} {unit}"
    if unit in ("kB/task", "B/task"):
        return f"{v:.2f} {unit}"
    return f"{v:.3g} {unit}"


HIGHER_IS_BETTER = {"tasks/s", "lines/s", "MB/s", "rows/s"}


def fmt_ratio(row: dict) -> str:
    """How many times better shoal is than Dask, whatever the unit's direction.

    Recomputed from the two figures so every row reads the same way: for
    throughput units shoal/Dask, for times, memory and counts Dask/shoal.
    """
    d, s = row.get("dask"), row.get("shoal")
    if not isinstance(d, (int, float)) or not isinstance(s, (int, float)) or not d or not s:
        return "-"
    r = s / d if row.get("unit") in HIGHER_IS_BETTER else d / s
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def fmt_mem(row: dict) -> str:
    s, d = row.get("peak_mb_shoal"), row.get("peak_mb_dask")
    if s is None and d is None:
        return "-"
    return f"{'-' if s is None else f'{s:.0f}'} MB / {'-' if d is None else f'{d:.0f}'} MB"


def finished_at(all_rows: dict) -> str:
    """When each area's results file was written (areas may come from separate runs)."""
    out = []
    for area in all_rows:
        f = RESULTS / f"{area}.json"
        if f.exists():
            out.append(f"{area} {time.strftime('%H:%M', time.gmtime(f.stat().st_mtime))}")
    return ", ".join(out) + " UTC" if out else "unknown times"


def write_report(all_rows: dict, path_md: Path, path_json: Path) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.  ",
        f"Versions: {versions()}.  ",
        f"Written: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; each area's results "
        f"finished at {finished_at(all_rows)}. Medians of several runs; "
        "ratio = how many times better shoal is than Dask in the same run (shoal/Dask for throughput, "
        "Dask/shoal for times, memory and job counts; above 1 means shoal is better).",
        "",
        "| area | workload | Dask | shoal | ratio | peak memory added, shoal / Dask |",
        "|---|---|---|---|---|---|",
    ]
    for area, rows in all_rows.items():
        for r in rows:
            unit = r.get("unit", "")
            lines.append(f"| {area} | {r['workload']} | {fmt(r.get('dask'), unit)} | "
                         f"{fmt(r.get('shoal'), unit)} | {fmt_ratio(r)} | {fmt_mem(r)} |")
    text = "\n".join(lines) + "\n"
    path_md.write_text(text)
    path_json.write_text(json.dumps({"machine": machine(), "versions": versions(), "areas": all_rows}, indent=2))
    return text


def plot(all_rows: dict, path: Path) -> None:
    rows = [r for rs in all_rows.values() for r in rs if r.get("unit") == "tasks/s"
            and isinstance(r.get("shoal"), (int, float)) and isinstance(r.get("dask"), (int, float))]
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["workload"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [r["shoal"] for r in rows], height=0.4, label="shoal")
    ax.barh([i - 0.2 for i in y], [r["dask"] for r in rows], height=0.4, label="Dask")
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("tasks per second (log scale, higher is better)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--only", default="", help="comma-separated areas (local,distributed,array,dataframe,bag)")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from existing JSON files")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    areas = [p.stem[len("bench_"):] for p in sorted(HERE.glob("bench_*.py"))]
    if args.only:
        wanted = set(args.only.split(","))
        areas = [a for a in areas if a in wanted]
    failed = []
    if not args.report_only:
        for area in areas:
            cmd = [sys.executable, str(HERE / f"bench_{area}.py")] + (["--quick"] if args.quick else [])
            print(f"== {area}: {' '.join(cmd)}", flush=True)
            proc = subprocess.run(cmd, cwd=ROOT)
            if proc.returncode != 0:
                failed.append(area)
    all_rows = {}
    for area in [p.stem[len("bench_"):] for p in sorted(HERE.glob("bench_*.py"))]:
        f = RESULTS / f"{area}.json"
        if f.exists():
            all_rows[area] = json.loads(f.read_text())["rows"]
    text = write_report(all_rows, HERE / "results.md", HERE / "results.json")
    plot(all_rows, ROOT / "docs" / "img" / "tasks_per_second.png")
    print(text)
    if failed:
        print(f"benchmarks that failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
