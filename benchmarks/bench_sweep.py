"""Benchmark of ``gradproof sweep`` (run on demand: ``python benchmarks/bench_sweep.py``).

One run measures, on the same 200-point grid (LSTM, hidden 32, 100 steps, fast engine;
spectral_norm 0.5:1.5:10 x forget_bias -1:3:5 x 4 seeds), wall-clock seconds of the whole
command as a user runs it (``gradproof sweep ... -q`` in a fresh results folder, start-up
included):

* in process (``--workers 1``, the default): the sequential baseline;
* ``--workers 2`` (two spawned processes, one BLAS thread each);
* ``--dask-local 2`` (a local Dask cluster on 127.0.0.1), unless ``--no-dask``;

each also with the CPU seconds of all its processes (``RUSAGE_CHILDREN``: the command, its
worker processes and Dask's nannies, all waited for), which depends much less than wall
time on the load of other programs; then checks that the three tables are byte-identical,
and measures the per-point cost of the
alternatives of issue 15 on the same points: a shell loop over the CLI (``gradproof product
lstm ... --json``, one process per point, on 6 points spread over the grid) and a Python loop
over ``gradproof.product`` (all 200 points). The machine's load average (1 min) is printed before and after: other
processes on the 2 cores lower the 2-worker speed-up, so read the ratio with it, and with the
measured parallel capacity: two CPU-bound pure-Python processes are timed alone and together
before and after (2 t_alone / t_together = the cores they got; on this shared virtual machine
it varies between about 1 and 2 from minute to minute).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the in-process baseline also on one core
os.environ.setdefault("OMP_NUM_THREADS", "1")

GRID = ["--grid", "spectral_norm=0.5:1.5:10", "--grid", "forget_bias=-1:3:5", "--seeds", "4"]
FIXED = ["--hidden", "32", "--steps", "100"]


def gradproof_cmd() -> list[str]:
    exe = shutil.which("gradproof")
    return [exe] if exe else [sys.executable, "-m", "gradproof.reports.cli"]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it waited for)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True)
    dt, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(argv)}\n{p.stderr}")
    return dt, cpu


_BURN = "import time\nt = time.perf_counter()\ns = 0\nfor i in range(15_000_000):\n    s += i\nprint(time.perf_counter() - t)\n"


def parallel_capacity() -> float:
    """How many cores two CPU-bound processes get right now: 2 t_alone / t_together (2.0 on
    two free cores; less when other programs or the host take CPU time)."""
    def run(n):
        procs = [subprocess.Popen([sys.executable, "-c", _BURN], stdout=subprocess.PIPE, text=True)
                 for _ in range(n)]
        return max(float(p.communicate()[0]) for p in procs)

    alone = run(1)
    return 2 * alone / run(2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--cli-points", type=int, default=6, help="points of the shell loop over the CLI")
    ap.add_argument("--api-points", type=int, default=200, help="points of the Python loop over the API")
    args = ap.parse_args()

    import gradproof

    load0, cap0 = os.getloadavg()[0], parallel_capacity()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    runs = [("in process", []), ("--workers 2", ["--workers", "2"])]
    if not args.no_dask:
        runs.append(("--dask-local 2", ["--dask-local", "2"]))
    results = {}
    for name, extra in runs:
        out = tmp / name.replace(" ", "").replace("-", "")
        results[name] = (timed([*gradproof_cmd(), "sweep", "lstm", *GRID, *FIXED, "--out", str(out), "-q",
                                *extra]), (out / "results.jsonl").read_bytes())
    tables = {v[1] for v in results.values()}
    n_points = len(next(iter(tables)).splitlines())

    # the same points, as a shell loop over the CLI (one process each) and a Python loop
    # the sweep's own points (same grid order), so the loops compute exactly what the sweeps did
    from gradproof.reports.sweep.grid import make_plan

    grid = {g.split("=", 1)[0]: g.split("=", 1)[1] for g in GRID[1:4:2]}
    plan = [p.kwargs for p in make_plan("lstm", grid, seeds=4, fixed={"hidden": 32, "steps": 100}).points]
    assert len(plan) == n_points
    step = max(1, len(plan) // args.cli_points)
    cli_pts = plan[::step][: args.cli_points]  # spread over the grid
    t0 = time.perf_counter()
    for o in cli_pts:
        timed([*gradproof_cmd(), "product", "lstm", "--hidden", "32", "--steps", "100", "--spectral-norm",
               repr(o["spectral_norm"]), "--forget-bias", repr(o["forget_bias"]), "--seed", str(o["seed"]),
               "--json"])
    cli_per = (time.perf_counter() - t0) / len(cli_pts)
    gradproof.product("lstm", hidden=2, steps=2)  # imports outside the timing
    api_pts = plan[: args.api_points]
    c0, t0 = time.process_time(), time.perf_counter()
    for o in api_pts:
        gradproof.product("lstm", **o)
    api_per = (time.perf_counter() - t0) / len(api_pts)
    api_cpu = (time.process_time() - c0) / len(api_pts)
    load1, cap1 = os.getloadavg()[0], parallel_capacity()
    shutil.rmtree(tmp, ignore_errors=True)

    base, base_cpu = results["in process"][0]
    print(f"gradproof {gradproof.__version__}; {n_points}-point sweep, lstm hidden 32, 100 steps, fast engine; "
          f"load average (1 min) {load0:.2f} before, {load1:.2f} after; {os.cpu_count()} cores, of which two "
          f"CPU-bound processes got {cap0:.2f} before and {cap1:.2f} after (2 t_alone / t_together)")
    print(f"tables byte-identical across runs: {'yes' if len(tables) == 1 else 'NO'}")
    print()
    print("| run | wall s | s per point | speed-up vs in process | CPU s (all processes) | CPU vs in process |")
    print("|---|---|---|---|---|---|")
    for name, ((dt, cpu), _) in results.items():
        print(f"| sweep {name} | {dt:.2f} | {dt / n_points:.4f} | {base / dt:.2f}x | {cpu:.1f} | "
              f"{cpu / base_cpu:.2f}x |")
    print(f"| shell loop over `gradproof product` ({len(cli_pts)} points) | - | {cli_per:.3f} | "
          f"{cli_per / (base / n_points):.1f}x the sweep's per-point wall time | - | - |")
    print(f"| Python loop over `gradproof.product` ({len(api_pts)} points) | - | {api_per:.4f} | "
          f"{api_per / (base / n_points):.2f}x the sweep's per-point wall time | {api_cpu:.4f} per point | "
          f"{api_cpu / (base_cpu / n_points):.2f}x |")
    two, two_cpu = results["--workers 2"][0]
    print()
    print(f"--workers 2: {base / two:.2f}x, {100 * (1 - base / two / 2):.0f}% short of 2x; CPU "
          f"{two_cpu:.1f} s against {base_cpu:.1f} s in process (on an idle machine the wall time is "
          f"bounded below by about CPU / 2)")
    return 0 if len(tables) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
