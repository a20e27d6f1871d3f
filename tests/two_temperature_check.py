"""Helper of tests/test_two_temperature.py (serial and under mpirun -n 2; prints JSON): a coarse
fig2a run with two temperatures and the numbers the test compares."""

import json
import sys

from mpi4py import MPI

import fem_peltier as fp

overrides = [
    "mesh.size=2e-4",
    "mesh.electrode_size=5e-5",
    "solver.linear_solver=mumps",
    "thermal.model=two",
    "material.kappa_electron=0.02",
    f"material.electron_lattice_coupling={sys.argv[1] if len(sys.argv) > 1 else 1e9}",
    *sys.argv[2:],
]
res = fp.run(fp.load_config(preset="fig2a", overrides=overrides), pictures=False)
keys = (
    "converged", "iterations", "voltage_V", "T_max_K", "T_electron_max_K", "T_lattice_max_K", "metal_fraction",
    "heat_exchange_W", "heat_joule_W", "heat_peltier_W", "heat_to_sink_W", "heat_balance_rel",
    "heat_balance_electrons_rel", "cells", "ksp_iterations_per_solve",
)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({k: res.summary.get(k) for k in keys}))
