"""Two-temperature model (issue 20): cost per Newton step against the one-temperature model
on the same mesh, and the 100 nm film study of docs/validation.md.

    python benchmarks/two_temperature.py [--size-factor F] [--quick]

1. fig2a (its mesh, MUMPS and the default solver) solved with thermal.model = "one" and "two"
   (gamma_el = 1e13 W/(m^3 K), kappa_e = 0.01, kappa_l = 0.09 W/(m K)): Newton steps, time per
   Newton step and their ratio, measured in this one run.
2. fig2a scaled down to a 100 nm film (L = W = 500 nm, h = 100 nm, I = 5 uA: the same J = 0.2
   and P = 0.2): one temperature, two temperatures with the lattice switching the phase, and with
   the electrons switching it. sqrt(kappa_e kappa_l / (gamma kappa)) = 30 nm, alpha h = 3.3; then
   gamma_el = 1e14 and 1e15 (alpha h = 10, 33) with the lattice switching.
"""

from __future__ import annotations

import argparse
import json
import time

from mpi4py import MPI

import fem_peltier as fp

TWO = [
    "thermal.model=two",
    "material.kappa_electron=0.01",
    "material.kappa_lattice=0.09",
    "material.electron_lattice_coupling=1e13",
]
KEYS = (
    "converged",
    "iterations",
    "cells",
    "voltage_V",
    "T_max_K",
    "T_electron_max_K",
    "T_lattice_max_K",
    "metal_fraction",
    "metal_reach_negative_m",
    "metal_reach_positive_m",
    "metal_max_depth_m",
    "heat_exchange_W",
    "heat_balance_rel",
    "time_per_newton_step_s",
    "solve_time_s",
)


def run(preset: str, overrides: list[str]) -> dict:
    t = time.perf_counter()
    res = fp.run(fp.load_config(preset=preset, overrides=overrides), pictures=False)
    out = {k: res.summary.get(k) for k in KEYS}
    out["wall_s"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-factor", type=float, default=1.0, help="mesh.size = L / 20 / factor")
    ap.add_argument("--quick", action="store_true", help="coarse meshes (a smoke test)")
    a = ap.parse_args()
    solver = ["solver.linear_solver=mumps"]
    f = 0.25 if a.quick else a.size_factor
    rows: dict[str, dict] = {}
    # 1. cost per Newton step, same mesh, same run
    mesh = [f"mesh.size={5e-5 / f}"]
    rows["fig2a one"] = run("fig2a", mesh + solver)
    rows["fig2a two"] = run("fig2a", mesh + solver + TWO)
    # 2. the 100 nm film: fig2a scaled by 5e-4
    s = 5e-4
    scaled = [
        f"geometry.length={1e-3 * s}",
        f"geometry.width={1e-3 * s}",
        f"geometry.thickness={2e-4 * s}",
        f"drive.current={1e-2 * s}",
        f"mesh.size={5e-5 * s / f}",
    ]
    scaled += ["solver.t_ceiling=20000"]  # the electrons at the 10 nm contacts pass 3000 K (10 T0)
    rows["100 nm one"] = run("fig2a", scaled + solver)
    rows["100 nm two (lattice switches)"] = run("fig2a", scaled + solver + TWO)
    rows["100 nm two (electrons switch)"] = run(
        "fig2a", scaled + solver + TWO + ["material.phase_temperature=electron"]
    )
    for gamma in ("1e14", "1e15"):
        stronger = [*TWO[:-1], f"material.electron_lattice_coupling={gamma}"]
        rows[f"100 nm two (gamma {gamma})"] = run("fig2a", scaled + solver + stronger)
    if MPI.COMM_WORLD.rank == 0:
        one, two = rows["fig2a one"], rows["fig2a two"]
        print(
            f"cost per Newton step, two / one temperature (fig2a, {one['cells']} cells, MUMPS): "
            f"{two['time_per_newton_step_s'] / one['time_per_newton_step_s']:.2f} "
            f"({two['time_per_newton_step_s']:.3f} s / {one['time_per_newton_step_s']:.3f} s; Newton steps "
            f"{two['iterations']} / {one['iterations']})"
        )
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
