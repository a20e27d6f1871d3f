"""A posteriori error indicators of the coupled problem, per cell (issue 18, docs/physics.md
"Adaptive refinement").

Two residual estimators, each in its own energy norm and made relative, then added:

* current (mixed form): rho j + S grad T (the field E = -grad phi; S grad T only with the
  Seebeck EMF) must be a gradient, so its tangential jump across film facets, and its
  tangential part on the equipotential electrodes, measure the error of j:

      eta_e,K^2 = sum over facets F of K of  w_F h_F |[[E x n]]|^2 / rho          (W)

  (P1 potential: the normal jump of j and its normal part on insulating surfaces,
  h_F [[j . n]]^2 rho). Made relative by the Joule power integral of rho |j|^2 (W).
* heat: the cell residual of -div(kappa grad T) = q (the volume sources: Joule, Thomson),
  the jump of the heat flux across facets minus the Peltier heat released on them, and the
  normal flux on the adiabatic surfaces:

      eta_T,K^2 = h_K^2 |q|^2 / kappa + sum over F of w_F h_F ([[kappa grad T . n]] - q_P)^2 / kappa
                                                                                  (W K)

  made relative by the integral of kappa |grad T|^2 (W K).

w_F = 1/2 on an interior facet (each neighbour takes half), 1 on the boundary. eta_K^2 =
eta_e,K^2 / P + eta_T,K^2 / E_T is dimensionless; sqrt(sum of eta_K^2) is the relative
estimate in the energy norms (the `estimator` of adapt.csv).

Separately, a cell of the transition band (0.01 < m < 0.99) across which T changes by more
than the band width, |grad T| h_K > w, does not resolve the phase front (`band_unresolved`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mpi4py import MPI
import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx import mesh as dmesh

from .mesh_data import FACET_GROUPS, FILM
from .terms import FILM_CELLS

if TYPE_CHECKING:
    from .coupled import CoupledProblem

FILM_FILM, FILM_SUBSTRATE, SUBSTRATE_SUBSTRATE = 1, 2, 3  # interior facet tags of the estimator's own measure
BAND_LOW, BAND_HIGH = 0.01, 0.99  # metal fractions bounding the transition band


@dataclass
class Indicators:
    """Per owned cell (the order of the mesh's owned cells): the squared relative indicators of
    the current and of the heat, and the unresolved band cells; the global norms they are relative to."""

    current_sq: np.ndarray
    heat_sq: np.ndarray
    band_unresolved: np.ndarray  # bool
    in_band: np.ndarray  # bool: BAND_LOW < m < BAND_HIGH
    joule_norm_W: float  # integral of rho |j|^2
    heat_norm_WK: float  # integral of kappa |grad T|^2

    @property
    def eta_sq(self) -> np.ndarray:
        """eta_K^2, the sum of the two relative squared indicators."""
        return self.current_sq + self.heat_sq

    def global_estimate(self, comm: MPI.Comm) -> tuple[float, float, float]:
        """(total, current, heat) relative estimates: square roots of the global sums."""
        sums = comm.allreduce(np.array([self.eta_sq.sum(), self.current_sq.sum(), self.heat_sq.sum()]), op=MPI.SUM)
        return float(np.sqrt(sums[0])), float(np.sqrt(sums[1])), float(np.sqrt(sums[2]))


def interior_facet_tags(problem: CoupledProblem) -> dmesh.MeshTags:
    """Interior facets between two film cells (FILM_FILM), film and substrate (FILM_SUBSTRATE) and
    two substrate cells (SUBSTRATE_SUBSTRATE)."""
    msh = problem.msh
    fdim = msh.topology.dim - 1
    msh.topology.create_connectivity(fdim, fdim + 1)
    f2c = msh.topology.connectivity(fdim, fdim + 1)
    imap = msh.topology.index_map(fdim)
    n = imap.size_local + imap.num_ghosts
    offsets = f2c.offsets
    two = np.flatnonzero(np.diff(offsets)[:n] == 2).astype(np.int32)
    cells = f2c.array[offsets[two][:, None] + np.arange(2)]
    film = problem.film_mask[cells]
    tag = np.where(film.all(axis=1), FILM_FILM, np.where(film.any(axis=1), FILM_SUBSTRATE, SUBSTRATE_SUBSTRATE))
    return dmesh.meshtags(msh, fdim, two, tag.astype(np.int32))


def _adiabatic_tags(problem: CoupledProblem) -> tuple[int, ...]:
    """Outer-surface tags with no thermal condition (no heat flows through them)."""
    taken = {c.tag for c in problem.thermal_conditions}
    if problem.S_electrode is not None:  # contact Peltier heat: a source on the patches
        taken |= set(problem.contact_tags)
    return tuple(t for t in _outer_tags(problem) if t not in taken)


def _outer_tags(problem: CoupledProblem) -> tuple[int, ...]:
    """Every tag of an outer surface of the mesh (a film mesh's groups, a user mesh's surfaces)."""
    return tuple(sorted(set(FACET_GROUPS) | set(problem.fm.surfaces.values())))


def _cell_values(problem: CoupledProblem, form: ufl.Form) -> np.ndarray:
    """Assemble a form linear in a DG0 test function; the value of each owned cell (cell order)."""
    vec = fem.assemble_vector(fem.form(form))
    vec.scatter_reverse(la.InsertMode.add)
    n_own = problem.msh.topology.index_map(problem.msh.topology.dim).size_local
    dofs = problem.Q0.dofmap.list[:n_own, 0]
    return np.array(vec.array[dofs])


def _total(problem: CoupledProblem, form: ufl.Form) -> float:
    return problem.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)


def cell_indicators(problem: CoupledProblem) -> Indicators:
    """The indicators of the present state of `problem` (module docstring)."""
    msh = problem.msh
    v = ufl.TestFunction(problem.Q0)
    n = problem.n
    h = ufl.CellDiameter(msh)
    h_F = ufl.avg(h)
    ctags = problem.fm.cell_tags
    dx = ufl.Measure("dx", domain=msh, subdomain_data=ctags, metadata={"quadrature_degree": 2})
    ds = ufl.Measure("ds", domain=msh, subdomain_data=problem.fm.facet_tags, metadata={"quadrature_degree": 2})
    dS = ufl.Measure("dS", domain=msh, subdomain_data=interior_facet_tags(problem), metadata={"quadrature_degree": 2})
    film = fem.Function(problem.Q0)
    film.x.array[:] = 0.0
    n_all = problem.film_mask.size
    film.x.array[problem.Q0.dofmap.list[:n_all, 0]] = problem.film_mask.astype(float)

    # --- current --------------------------------------------------------------------------
    j = problem.j
    rho = 1.0 / problem.sigma
    joule_norm = _total(problem, rho * ufl.inner(j, j) * dx(FILM))
    electrodes = ds(problem.contact_tags)
    if problem.mixed:
        E = rho * j + (problem.emf if problem.emf is not None else ufl.as_vector((0.0, 0.0, 0.0)))
        t_jump = ufl.cross(E("+") - E("-"), n("+"))
        e_form = (
            h_F * ufl.inner(t_jump, t_jump) / ufl.avg(rho) * ufl.avg(v) * dS(FILM_FILM)
            + h * ufl.inner(ufl.cross(E, n), ufl.cross(E, n)) / rho * v * electrodes
        )
    else:
        n_jump = ufl.dot(j("+"), n("+")) + ufl.dot(j("-"), n("-"))
        # at the film/substrate interface only the film side carries current: j . n of that side
        film_side = film("+") * ufl.dot(j("+"), n("+")) + film("-") * ufl.dot(j("-"), n("-"))
        rho_f = film("+") * rho("+") + film("-") * rho("-")
        insulating = tuple(t for t in _outer_tags(problem) if t not in problem.contact_tags)
        e_form = (
            h_F * n_jump**2 * ufl.avg(rho) * ufl.avg(v) * dS(FILM_FILM)
            + h_F * film_side**2 * rho_f * ufl.avg(v) * dS(FILM_SUBSTRATE)
            + h * ufl.dot(j, n) ** 2 * rho * film * v * ds(insulating)
        )
    current_sq = _cell_values(problem, e_form) / max(joule_norm, np.finfo(float).tiny)

    # --- heat -----------------------------------------------------------------------------
    kappa = film * problem.kappa + (1.0 - film) * problem.kappa_substrate
    flux = kappa * ufl.grad(problem.T)
    heat_norm = _total(problem, ufl.inner(flux, ufl.grad(problem.T)) * dx)
    q_vol = sum(
        (s.density for s in problem.physics.sources if s.where == FILM_CELLS),
        start=ufl.as_ufl(0.0),
    )
    R_F = ufl.dot(flux("+"), n("+")) + ufl.dot(flux("-"), n("-"))
    q_P = problem.q_peltier
    dS_all = dS((FILM_FILM, FILM_SUBSTRATE, SUBSTRATE_SUBSTRATE))
    t_form = h**2 * q_vol**2 / kappa * v * dx(FILM) + h_F * R_F**2 / ufl.avg(kappa) * ufl.avg(v) * dS_all
    # the Peltier heat on the phase-boundary facets (their own facet tags: separate forms, chunk
    # by chunk as the residual's, to bound the coefficient packing)
    peltier_density = h_F * ((R_F - q_P) ** 2 - R_F**2) / ufl.avg(kappa) * ufl.avg(v)
    adiabatic = _adiabatic_tags(problem)
    if adiabatic:
        t_form += h * ufl.dot(flux, n) ** 2 / kappa * v * ds(adiabatic)
    heat = _cell_values(problem, t_form)
    for dS_interface in problem.interface_measures():
        heat += _cell_values(problem, peltier_density * dS_interface)
    heat_sq = np.maximum(heat, 0.0) / max(heat_norm, np.finfo(float).tiny)

    # --- unresolved transition band ------------------------------------------------------
    in_band = band_mask(problem)
    width = float(problem.law.width.value) * owned_cell_values(problem, problem.law.width_scale)
    band = in_band & (temperature_step(problem) > width)
    return Indicators(current_sq, heat_sq, band, in_band, joule_norm, heat_norm)


def band_mask(problem: CoupledProblem) -> np.ndarray:
    """The owned cells of the transition band, BAND_LOW < m < BAND_HIGH."""
    m = owned_cell_values(problem, problem.m)
    return (m > BAND_LOW) & (m < BAND_HIGH)


def owned_cell_values(problem: CoupledProblem, f: fem.Function) -> np.ndarray:
    """A DG0 function's values on the owned cells, in cell order."""
    n_own = problem.msh.topology.index_map(problem.msh.topology.dim).size_local
    return np.array(f.x.array[problem.Q0.dofmap.list[:n_own, 0]])


def temperature_step(problem: CoupledProblem) -> np.ndarray:
    """|grad T| h_K (K) on each owned cell: the temperature change across it (P1: grad T is constant)."""
    v = ufl.TestFunction(problem.Q0)
    h = ufl.CellDiameter(problem.msh)
    g = ufl.sqrt(ufl.inner(ufl.grad(problem.T), ufl.grad(problem.T)))
    return _cell_values(problem, g * h * v * ufl.dx) / _cell_values(problem, v * ufl.dx)


def set_local_band_width(problem: CoupledProblem, band_cells: float, floor: float = 1e-3) -> float:
    """The sharp limit with local refinement: w_K = min(w, band_cells |grad T|_K h_K) on every cell
    (w = solver.transition_width), as the factor width_scale = w_K / w (at least `floor`). Returns
    the median w_K (K) over the owned band cells of all ranks (NaN if there are none)."""
    w = float(problem.cfg.solver.transition_width)
    scale = np.clip(band_cells * temperature_step(problem) / w, floor, 1.0)
    n_own = scale.size
    ws = problem.law.width_scale
    ws.x.array[problem.Q0.dofmap.list[:n_own, 0]] = scale
    ws.x.scatter_forward()
    widths = problem.comm.gather(w * scale[band_mask(problem)], root=0)
    median = float(np.median(np.concatenate(widths))) if problem.comm.rank == 0 and sum(map(len, widths)) else math.nan
    return problem.comm.bcast(median, root=0)
