"""Benchmark: the cost of a warm-started sweep point against a cold one, on the paper's sweeps.

Each sweep is run twice by the command line, in the same run of this script: warm
(the default: every point starts from the previous converged point) and with
`--from-scratch` (every point from the cold state). Per sweep it prints the Newton steps
and solve time of the warm-started points against the same points solved cold, their
ratio, the points whose answers differ between the two (a hysteresis loop may
legitimately follow another branch when warm), and how many warm starts fell back to
the band-width continuation.

    .venv/bin/python benchmarks/warm_start.py                     # all sweeps
    .venv/bin/python benchmarks/warm_start.py --sweeps loop --keep out/warm

Sweeps (docs/sweeps.md):
  loop     the hysteresis loop of fig2a (H = 20 K), 1 -> 4 -> 1 mA in 0.25 mA steps
  fig2e    fig2d at the Fig. 2e currents 5, 10, 25 mA
  coarse   fig2a at 2, 4, 6, 8, 10 mA (drive doubling between the first points)
  fine     fig2a without hysteresis, 1.5 -> 4 mA in 0.25 mA steps

Results are appended to benchmarks/results/warm_start.csv and printed as Markdown.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "fem_peltier"]

LOOP = ["--preset", "fig2a", "--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5"]
SWEEPS: dict[str, list[str]] = {
    "loop": [*LOOP, "--set", "material.hysteresis=20", "--currents", "0.001:0.004:13,0.004:0.001:13"],
    "fig2e": ["--preset", "fig2d", "--set", "mesh.size=1e-4", "--currents", "0.005,0.01,0.025"],
    "coarse": ["--preset", "fig2a", "--set", "mesh.size=1e-4", "--currents", "0.002,0.004,0.006,0.008,0.01"],
    "fine": [*LOOP, "--currents", "0.0015:0.004:11"],
}


def run_sweep(args: list[str], out: Path, cold: bool) -> tuple[list[dict[str, str]], float]:
    """Run one sweep into `out`; return its rows and the wall time (s)."""
    cmd = [*CLI, "sweep", *args, "--out", str(out), "-q"] + (["--from-scratch"] if cold else [])
    t0 = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    with open(out / "sweep.csv", newline="") as fh:
        return list(csv.DictReader(fh)), wall


def warm_fallbacks(out: Path, rows: list[dict[str, str]]) -> int:
    """Warm starts that fell back to a band-width continuation (from each point's solver_log.json)."""
    n = 0
    for r in rows:
        log = out / r["run_dir"] / "solver_log.json"
        if r["warm_start"] == "true" and log.is_file():
            levels = json.loads(log.read_text())["levels"]
            n += any(lv.get("warm_start") and not lv["converged"] for lv in levels)
    return n


def compare(name: str, warm: list[dict[str, str]], cold: list[dict[str, str]], fallbacks: int) -> dict:
    """Mean Newton steps and solve time of the warm-started points, warm vs cold."""
    idx = [i for i, r in enumerate(warm) if r["warm_start"] == "true"]
    steps_w = sum(int(warm[i]["iterations"]) for i in idx)
    steps_c = sum(int(cold[i]["iterations"]) for i in idx)
    time_w = sum(float(warm[i]["solve_time_s"]) for i in idx)
    time_c = sum(float(cold[i]["solve_time_s"]) for i in idx)
    differ = [
        i
        for i in idx
        if abs(float(warm[i]["voltage_V"]) - float(cold[i]["voltage_V"])) > 1e-3 * abs(float(cold[i]["voltage_V"]))
    ]
    return {
        "sweep": name,
        "points": len(warm),
        "warm_points": len(idx),
        "all_converged": all(r["converged"] == "true" for r in warm + cold),
        "steps_warm_mean": steps_w / max(len(idx), 1),
        "steps_cold_mean": steps_c / max(len(idx), 1),
        "steps_ratio": steps_w / steps_c if idx else "- (all cold)",
        "solve_time_ratio": time_w / time_c if idx else "-",
        "fallbacks": fallbacks,
        "answers_differ_at": " ".join(warm[i]["current_set_A"] for i in differ) or "-",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweeps", default="loop,fig2e,coarse,fine", help="comma-separated: " + ", ".join(SWEEPS))
    ap.add_argument("--keep", type=Path, help="keep the sweep folders here (default: a temporary folder)")
    ap.add_argument("--csv", type=Path, default=HERE / "results" / "warm_start.csv")
    a = ap.parse_args()
    root = a.keep or Path(tempfile.mkdtemp(prefix="warm_start-"))
    rows = []
    for name in a.sweeps.split(","):
        warm, _ = run_sweep(SWEEPS[name], root / f"{name}_warm", cold=False)
        cold, _ = run_sweep(SWEEPS[name], root / f"{name}_cold", cold=True)
        rows.append(compare(name, warm, cold, warm_fallbacks(root / f"{name}_warm", warm)))
        print(f"{name}: per point (current, warm steps, cold steps):", file=sys.stderr)
        for w, c in zip(warm, cold):
            print(f"  {w['current_set_A']:>10} {w['iterations']:>4} {c['iterations']:>4}", file=sys.stderr)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    new = not a.csv.exists()
    a.csv.parent.mkdir(parents=True, exist_ok=True)
    with open(a.csv, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["date", *keys])
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({"date": time.strftime("%Y-%m-%d %H:%M"), **r})


if __name__ == "__main__":
    main()
