"""Helper of tests/test_adaptive.py (run serial and under mpirun -n 2, prints JSON).

1. Refines a coarse fig2a mesh where a fixed geometric rule marks cells (the same cells for
   any partition) and reports the refined mesh: global cell count, a checksum of the sorted
   cell centroids, the film volume and the area of every facet tag.
2. Runs fig2a with one adaptive level and reports the levels of adapt.csv (cells, marks,
   V, T_max, metal fraction).
"""

import json
import sys
import tempfile
from pathlib import Path

from mpi4py import MPI
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

import fem_peltier as fp
from fem_peltier.mesh import FACET_GROUPS, FILM, create_mesh
from fem_peltier.refinement import refine_film_mesh

comm = MPI.COMM_WORLD
base = ["mesh.size=2e-4", "mesh.electrode_size=5e-5"]
cfg = fp.load_config(preset="fig2a", overrides=base).resolved()
fm = create_mesh(cfg, comm)


def areas(fm):
    out = {}
    for tag in FACET_GROUPS:
        form = fem.form(1.0 * ufl.ds(domain=fm.mesh, subdomain_data=fm.facet_tags, subdomain_id=tag))
        out[str(tag)] = comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
    form = fem.form(1.0 * ufl.dx(domain=fm.mesh, subdomain_data=fm.cell_tags, subdomain_id=FILM))
    out["film_volume"] = comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
    return out


def centroids(fm):
    msh = fm.mesh
    n = msh.topology.index_map(3).size_local
    xc = dmesh.compute_midpoints(msh, 3, np.arange(n, dtype=np.int32))
    allx = comm.gather(xc, root=0)
    if comm.rank != 0:
        return None
    allx = np.vstack(allx)
    return allx[np.lexsort(allx.T[::-1])]


before = areas(fm)
L, W = cfg.geometry.length, cfg.geometry.width
x0 = np.array([cfg.geometry.length * 0.2, W / 2])  # around the negative electrode
for radius in (0.15 * L, 0.08 * L):
    msh = fm.mesh
    n = msh.topology.index_map(3).size_local
    xc = dmesh.compute_midpoints(msh, 3, np.arange(n, dtype=np.int32))
    marked = np.linalg.norm(xc[:, :2] - x0, axis=1) < radius
    fm = refine_film_mesh(fm, marked)
after = areas(fm)
xc = centroids(fm)

with tempfile.TemporaryDirectory() as tmp:
    out = Path(comm.bcast(tmp if comm.rank == 0 else None, root=0)) / "run"
    run_cfg = fp.load_config(preset="fig2a", overrides=base + ["mesh.adapt.levels=1"])
    result = fp.run(run_cfg, out=out, pictures=False)
    rows = None
    if comm.rank == 0:
        import csv

        with open(out / "adapt.csv") as fh:
            rows = list(csv.DictReader(fh))
    comm.barrier()

if comm.rank == 0:
    print(
        json.dumps(
            {
                "ranks": comm.size,
                "cells": fm.mesh.topology.index_map(3).size_global,
                "centroid_sum": float(np.sum(xc * np.arange(1, xc.shape[0] + 1)[:, None])),
                "centroid_first": xc[0].tolist(),
                "areas_before": before,
                "areas_after": after,
                "levels": rows,
                "summary": {k: result.summary[k] for k in result.summary if "adapt" in k or "estimate" in k},
            }
        )
    )
