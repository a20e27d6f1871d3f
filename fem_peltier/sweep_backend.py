"""The solver side of a sweep (DOLFINx; every method is collective): one mesh, warm starts, checkpoints."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checkpoint import cell_xyz, load_state, lookup, read_npz, save_state
from .config import Config
from .sweep_plan import FIELDS_PVD, FIELDS_VTU_DIR, FIELDS_XDMF, STATE_FILE
from .vtk_output import cell_tag_array, gather_grid, write_collection, write_vtu

if TYPE_CHECKING:
    from .coupled import CoupledProblem


class SolverBackend:
    """Mesh built once; warm starts from the last converged point; checkpoints per point."""

    def __init__(self, cfg: Config):
        from mpi4py import MPI

        from .mesh import create_mesh

        self.comm = MPI.COMM_WORLD
        self.fm = create_mesh(cfg, self.comm)
        if cfg.mesh.adapt.levels > 0:  # warm starts need one mesh for every point
            logging.getLogger("fem_peltier").warning(
                "mesh.adapt ignored by sweeps: every point is solved on the configured mesh"
            )
        # the problem of the last point, if its state is a good warm start
        self.problem: CoupledProblem | None = None
        self.good: tuple[Config, Any] | None = None  # last converged (config, problem.save_state())

    def _warm_problem(self):
        from .coupled import CoupledProblem

        if self.good is None:
            return None
        if self.problem is None:
            gcfg, state = self.good
            self.problem = CoupledProblem(gcfg, self.fm)
            self.problem.restore_state(state)
            self.problem.branch = [state]
        return self.problem

    def solve(self, pcfg: Config, pdir: Path, warm: bool, pictures: bool = True) -> tuple[bool, dict[str, Any], bool]:
        """Run one point into `pdir`; return (converged, summary, warm-started)."""
        from .simulation import run

        problem = self._warm_problem() if warm else None
        try:
            if problem is None:
                result = run(pcfg, out=pdir, overwrite=True, film_mesh=self.fm, pictures=pictures, adapt_mesh=False)
            else:
                result = run(pcfg, out=pdir, overwrite=True, problem=problem, pictures=pictures, adapt_mesh=False)
        except BaseException:
            self.problem = None  # state unknown: rebuild from the last converged one
            raise
        p = result.problem
        summary = dict(result.summary)
        summary["metal_x_mean_m"] = metal_x_mean(p)
        save_state(p, pdir / STATE_FILE)
        if result.converged:
            self.problem, self.good = p, (pcfg, p.save_state())
        else:
            self.problem = None
        return bool(result.converged), summary, bool(summary["warm_started"])

    def restore(self, pcfg: Config, path: Path) -> None:
        """Resume: make the checkpoint `path` (written for `pcfg`) the warm start."""
        from .coupled import CoupledProblem

        problem = CoupledProblem(pcfg, self.fm)
        load_state(problem, path)
        self.problem, self.good = problem, (pcfg, problem.save_state())
        problem.branch = [self.good[1]]

    def write_series(self, out: Path, entries: list[tuple[float, Path]], cfg: Config) -> Path | None:
        """sweep_fields.xdmf: temperature_K and phase of every checkpoint at time t; the same
        as sweep_fields.pvd listing sweep_fields/step_NNNNN.vtu (with the cell tags) for
        pyvista.read and ParaView. Published atomically: the .vtu files and the .h5 before the
        .pvd and the .xdmf that point at them."""
        from dolfinx import fem, io

        from .coupled import CoupledProblem

        comm = self.comm
        entries = [(t, p) for t, p in entries if p.is_file()]
        if not entries:
            return None
        problem = self.problem or CoupledProblem(cfg, self.fm)
        T = fem.Function(problem.V_T, name="temperature_K")
        phase = fem.Function(problem.Q0, name="phase")
        tags = {"cell_tags": cell_tag_array(problem.msh, problem.fm.cell_tags)}
        tmp = comm.bcast(tempfile.mkdtemp(prefix=".sweep_fields.partial-", dir=out) if comm.rank == 0 else None)
        steps = [f"{FIELDS_VTU_DIR}/step_{i:05d}.vtu" for i in range(len(entries))]
        ok = False
        try:
            if comm.rank == 0:
                (Path(tmp) / FIELDS_VTU_DIR).mkdir()
            with io.XDMFFile(comm, str(Path(tmp) / FIELDS_XDMF), "w") as xf:
                xf.write_mesh(problem.msh)
                for (t, path), step in zip(entries, steps):
                    data = read_npz(path)
                    T.x.array[:] = lookup(
                        data["T_xyz"], data["T_val"], problem.V_T.tabulate_dof_coordinates(), path, problem.cfg
                    )
                    phase.x.array[:] = lookup(data["cell_xyz"], data["m"], cell_xyz(problem, phase), path, problem.cfg)
                    xf.write_function(T, float(t))
                    xf.write_function(phase, float(t))
                    grid = gather_grid(problem.msh, [T, phase], tags)
                    if grid is not None:
                        write_vtu(Path(tmp) / step, grid)
            ok = True
        finally:
            comm.barrier()
            if comm.rank == 0:
                if ok:  # the .h5 first: a .xdmf always points at complete data
                    os.replace(
                        Path(tmp) / FIELDS_XDMF.replace(".xdmf", ".h5"), out / FIELDS_XDMF.replace(".xdmf", ".h5")
                    )
                    os.replace(Path(tmp) / FIELDS_XDMF, out / FIELDS_XDMF)
                    _replace_directory(Path(tmp) / FIELDS_VTU_DIR, out / FIELDS_VTU_DIR)
                    write_collection(out / FIELDS_PVD, [(float(t), step) for (t, _), step in zip(entries, steps)])
                shutil.rmtree(tmp, ignore_errors=True)
            comm.barrier()
        return out / FIELDS_XDMF


def _replace_directory(src: Path, dst: Path) -> None:
    """Move the directory `src` to `dst`, replacing an older `dst` (rank 0)."""
    if dst.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old-", dir=dst.parent))
        os.replace(dst, trash / "old")
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(src, dst)


def metal_x_mean(problem) -> float | None:
    """Volume-weighted mean x of the metallic film (m >= 0.5), or None without metal (collective)."""
    import ufl

    from .diagnostics import integrate
    from .mesh import FILM

    x = ufl.SpatialCoordinate(problem.msh)
    ind = ufl.conditional(ufl.ge(problem.m, 0.5), 1.0, 0.0)
    vol = integrate(problem, ind * problem.dx(FILM))
    if vol <= 0:
        return None
    return float(integrate(problem, ind * x[0] * problem.dx(FILM)) / vol)
