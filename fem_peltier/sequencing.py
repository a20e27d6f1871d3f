"""Mesh sequencing (nested iteration): wide band levels on coarser meshes first.

The band-width continuation spends most of its Newton steps at the wide levels (and,
with the P1 potential, every interior film facet carries the Peltier integral there, the
most expensive part of its Jacobian). With ``solver.coarse_meshes = k`` the levels from
``solver.initial_width`` down to ``solver.sequencing_width`` are solved on a mesh with
2^k times the cell size (about 8^k times fewer cells); the state is then carried to the
next finer mesh, which closes that same level with Newton, and so on; the target mesh
runs the remaining levels down to ``solver.transition_width``.

Transfer: the coarse temperature, potential, current density and phase are evaluated at
the vertices of the fine mesh (one point-ownership search, parallel), which is exact
for P1 fields; cell-wise fields (DG0 potential, phase) take the mean of their vertex
values and the Raviart-Thomas current is interpolated from the vertex field. The band
centres (hysteresis memory) follow the transferred phase. If Newton fails from the
transferred state, the target mesh falls back to the full continuation.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass

from mpi4py import MPI
import numpy as np
import ufl
from dolfinx import fem, geometry, la

from .config import ResolvedConfig
from .continuation import SolveReport, solve
from .coupled import CoupledProblem
from .errors import SolverError
from .fields import CURRENT, POTENTIAL, TEMPERATURE
from .heap import release_free_heap
from .mesh import create_mesh

log = logging.getLogger("fem_peltier")


MIN_COARSE_CELLS = 3000  # the automatic choice keeps the coarsest mesh above this


def coarse_levels(problem: CoupledProblem) -> int:
    """Number of coarser meshes: solver.coarse_meshes, or automatic (cells / 8^k >= 3000, k <= 3).

    0 for a mesh read from a file: coarser versions of it cannot be generated.
    """
    k = problem.cfg.solver.coarse_meshes
    if problem.fm.source != "generated":
        if k:
            log.warning("solver.coarse_meshes ignored: mesh sequencing needs a generated mesh, not mesh.file")
        return 0
    if k is not None:
        return k
    k = 0
    while k < 3 and problem.n_cells / 8 ** (k + 1) >= MIN_COARSE_CELLS:
        k += 1
    return k


def coarse_config(cfg: ResolvedConfig, level: int) -> ResolvedConfig:
    """`cfg` with its cell sizes (mesh.size, mesh.electrode_size) multiplied by 2**level."""
    data = cfg.model_dump()
    data["mesh"]["size"] = cfg.mesh.size * 2**level
    data["mesh"]["electrode_size"] = cfg.mesh.electrode_size * 2**level
    return ResolvedConfig.model_validate(data)


def sequencing_width(cfg: ResolvedConfig) -> float:
    """Band width (K) at which the state moves to the finer mesh: default 4 transition widths."""
    s = cfg.solver
    w = s.sequencing_width if s.sequencing_width is not None else 4.0 * s.transition_width
    return min(max(w, s.transition_width), s.initial_width)


def evaluate_at_points(funcs: list[fem.Function], points: np.ndarray, padding: float) -> np.ndarray:
    """Values of `funcs` (on one mesh) at `points` (n x 3, this rank's, any mesh partition).

    Returns an (n, sum of value sizes) array. Uses DOLFINx point ownership: each point
    is evaluated on the rank owning the cell that contains it, and the values are sent
    back in the order the points were given. Raises SolverError if a point lies
    outside the mesh.
    """
    msh = funcs[0].function_space.mesh
    comm = msh.comm
    own = geometry.determine_point_ownership(msh, points, padding)
    src_owner = np.asarray(own.src_owner, dtype=np.int32)
    if comm.allreduce(int(np.count_nonzero(src_owner < 0)), op=MPI.SUM):
        raise SolverError("mesh sequencing: a fine-mesh vertex lies outside the coarse mesh")
    dest_owner = np.asarray(own.dest_owner, dtype=np.int32)
    dest_points = np.asarray(own.dest_points, dtype=np.float64).reshape(-1, 3)
    dest_cells = np.asarray(own.dest_cells, dtype=np.int32)
    width = sum(int(np.prod(f.ufl_shape)) if f.ufl_shape else 1 for f in funcs)
    if dest_cells.size:
        vals = np.hstack([f.eval(dest_points, dest_cells).reshape(dest_cells.size, -1) for f in funcs])
    else:
        vals = np.zeros((0, width))
    # send back, grouped by requesting rank (stable: keeps each rank's point order)
    order = np.argsort(dest_owner, kind="stable")
    send = np.ascontiguousarray(vals[order])
    send_counts = np.bincount(dest_owner, minlength=comm.size) * width
    recv_counts = np.bincount(src_owner, minlength=comm.size) * width
    recv = np.empty((points.shape[0], width))
    comm.Alltoallv([send, send_counts], [recv, recv_counts])
    out = np.empty_like(recv)
    out[np.argsort(src_owner, kind="stable")] = recv
    return out


def vertex_average(f, msh, shape: tuple[int, ...] = ()) -> fem.Function:
    """Continuous P1 field with nodal values (int f phi_i dx) / (int phi_i dx) (lumped L2 projection).

    Makes cell-wise fields (DG0, Raviart-Thomas) single-valued at vertices, independent of
    the mesh partition, so that point evaluation does not depend on which of the cells
    sharing a vertex is picked.
    """
    P = fem.functionspace(msh, ("Lagrange", 1, shape) if shape else ("Lagrange", 1))
    v = ufl.TestFunction(P)
    one = ufl.as_vector([1.0] * shape[0]) if shape else 1.0
    num = fem.assemble_vector(fem.form(ufl.inner(f, v) * ufl.dx))
    den = fem.assemble_vector(fem.form(ufl.inner(one, v) * ufl.dx))
    num.scatter_reverse(la.InsertMode.add)
    den.scatter_reverse(la.InsertMode.add)
    out = fem.Function(P)
    n = P.dofmap.index_map.size_local * P.dofmap.index_map_bs
    out.x.array[:n] = num.array[:n] / den.array[:n]
    out.x.scatter_forward()
    return out


def transfer_state(coarse: CoupledProblem, fine: CoupledProblem) -> None:
    """Carry T, the potential, the current (mixed form), V and the phase memory to `fine`."""
    msh = fine.msh
    P1 = fem.functionspace(msh, ("Lagrange", 1))
    n_own = P1.dofmap.index_map.size_local
    points = P1.tabulate_dof_coordinates()[:n_own]
    c_T = coarse.unknowns.function(TEMPERATURE)
    if coarse.mixed:  # DG0 potential
        c_phi = vertex_average(coarse.phi, coarse.msh)
    else:
        c_phi = coarse.unknowns.function(POTENTIAL)
    funcs = [c_T, c_phi, vertex_average(coarse.m, coarse.msh)]
    if coarse.mixed:
        funcs.append(vertex_average(coarse.j, coarse.msh, (coarse.msh.geometry.dim,)))
    padding = 1e-6 * float(coarse.cfg.mesh.electrode_size)
    vals = evaluate_at_points(funcs, points, padding)

    def vertex_function(col: slice, space=P1) -> fem.Function:
        f = fem.Function(space)
        bs = space.dofmap.index_map_bs
        f.x.array[: n_own * bs] = vals[:, col].ravel()
        f.x.scatter_forward()
        return f

    def put(name: str, source: fem.Function) -> None:
        """Interpolate `source` into the fine problem's field `name` (P1 -> P1 is a copy, P1 -> DG0
        the midpoint value, the mean of the vertex values)."""
        field = fine.unknowns[name]
        f = fem.Function(field.space)
        f.interpolate(source)
        fine.u.x.array[field.dofs] = f.x.array

    T_v, phi_v, m_v = vertex_function(slice(0, 1)), vertex_function(slice(1, 2)), vertex_function(slice(2, 3))
    put(TEMPERATURE, T_v)
    put(POTENTIAL, phi_v)
    if fine.mixed:
        PV = fem.functionspace(msh, ("Lagrange", 1, (msh.geometry.dim,)))
        put(CURRENT, vertex_function(slice(3, 3 + msh.geometry.dim), PV))
        # keep the insulating boundaries and the substrate current-free
        fine.electrodes.bcs[0].set(fine.u.x.array)
    fine.V = coarse.V
    # exact boundary values (the Newton corrections keep them)
    fine.electrodes.impose(fine.u.x.array, fine.V)
    fine.impose_sinks(fine.u.x.array)
    fine.u.x.scatter_forward()
    # phase memory: a fine cell is metallic where the coarse phase (mean over its vertices) is
    m_cell = fem.Function(fine.Q0)
    m_cell.interpolate(m_v)
    mat = fine.cfg.material
    if mat.hysteresis > 0:
        fine.law.centre.x.array[:] = np.where(
            m_cell.x.array >= 0.5, mat.t_mit - mat.hysteresis / 2, mat.t_mit + mat.hysteresis / 2
        )
        fine.law.centre.x.scatter_forward()
    fine.set_width(coarse.law.width.value)
    fine.update_phase()


@dataclass
class CoarseLevel:
    cells: int
    newton_steps: int
    solve_time_s: float
    converged: bool


def solve_sequenced(
    problem: CoupledProblem, k: int, keep_width: float | None = None
) -> tuple[SolveReport, list[CoarseLevel]]:
    """Solve `problem` (generated mesh) with `k` (from `coarse_levels`) coarser meshes first
    (`keep_width`: as in continuation.solve, for the target mesh)."""
    cfg = problem.cfg
    w_seq = sequencing_width(cfg)
    comm = problem.comm
    levels: list[CoarseLevel] = []
    prev: CoupledProblem | None = None
    for level in range(k, 0, -1):
        t0 = time.perf_counter()
        ccfg = coarse_config(cfg, level)
        cp = CoupledProblem(ccfg, create_mesh(ccfg, comm))
        if prev is not None:
            transfer_state(prev, cp)
            prev.destroy()
        rep = solve(cp, start_width=w_seq if prev is not None else None, stop_width=w_seq)
        dt = time.perf_counter() - t0
        levels.append(CoarseLevel(cp.n_cells, rep.newton_steps, dt, rep.converged))
        log.info(
            "coarse mesh %d: %d cells, %s after %d Newton steps down to w = %.4g K (%.1f s)",
            level,
            cp.n_cells,
            "converged" if rep.converged else f"failed ({rep.reason})",
            rep.newton_steps,
            w_seq,
            dt,
        )
        if not rep.converged:  # nothing useful to carry over: the target mesh runs on its own
            cp.destroy()
            prev = None
            break
        prev = cp
    if prev is None:
        return solve(problem, keep_width=keep_width), levels
    t0 = time.perf_counter()
    transfer_state(prev, problem)
    log.info("state carried to the target mesh (%d cells) in %.2f s", problem.n_cells, time.perf_counter() - t0)
    prev.destroy()  # its matrix and preconditioner, before the target mesh builds its own
    # and the rest of it (mesh, spaces, forms): `cp` still named it, and a problem and its Newton
    # solver refer to each other, so only the cycle collector frees them, at a time of its choosing
    # (fig2a, 245k cells serial: the coarse meshes' memory was still held through the target's solve)
    del prev, cp
    gc.collect()
    release_free_heap()  # the holes they left did not take the target's solver (heap.py)
    return solve(problem, start_width=w_seq, keep_width=keep_width), levels
