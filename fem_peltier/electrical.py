"""Electrical problem in the film: div j = 0 with j = -sigma (grad phi + e), e = S grad T.

e is the Seebeck EMF term (thermal.seebeck_emf; docs/physics.md): with it phi is the
electrochemical potential and the current is driven by the temperature gradient too;
without it (e = None, the paper's model) j = -sigma grad phi and every form below is
the same expression as before the EMF existed.

The electrodes are equipotential metal contacts: phi = 0 on the negative
electrode, phi = V on the positive one, no current through the other film
surfaces. The substrate carries no current: potential dofs that touch no film
cell are removed from the problem (pinned), not given a fake conductivity.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)
import numpy as np
import ufl
from dolfinx import fem, mesh as dmesh


def driving_gradient(phi, emf=None):
    """grad(phi) + e: minus the driving field of the current (V/m); e = S grad T or None."""
    return ufl.grad(phi) if emf is None else ufl.grad(phi) + emf


def residual(phi, v, sigma, dx_film, emf=None) -> ufl.Form:
    """Weak form of div j = 0: integral of sigma (grad(phi) + e) . grad(v) over the film."""
    return ufl.inner(sigma * driving_gradient(phi, emf), ufl.grad(v)) * dx_film


def current_density(phi, sigma, emf=None):
    """j = -sigma (grad(phi) + e) (A/m^2)."""
    return -sigma * driving_gradient(phi, emf)


def joule_density(phi, sigma, emf=None):
    """Joule heat rho |j|^2 = sigma |grad phi + e|^2 (W/m^3); non-negative by construction."""
    g = driving_gradient(phi, emf)
    return sigma * ufl.inner(g, g)


def mixed_residual(phi, J, q, tau, rho, V, n, dx_film, ds_pos, emf=None) -> ufl.Form:
    """Mixed (flux) form of rho J + grad(phi) + e = 0, div J = 0, with J in H(div):

        integral of rho J . tau - phi div(tau) + e . tau - q div(J) over the film
        + integral of V tau . n over the positive electrode = 0.

    phi = 0 (negative) and phi = V (positive electrode) are natural conditions here;
    J . n = 0 on the other film surfaces is imposed on the flux dofs. e = S grad T is
    integrated as it stands (T is continuous, S constant per cell): no facet terms.
    """
    F = (rho * ufl.inner(J, tau) - phi * ufl.div(tau) - q * ufl.div(J)) * dx_film + V * ufl.dot(tau, n) * ds_pos
    if emf is not None:
        F = F + ufl.inner(emf, tau) * dx_film
    return F


def joule_density_flux(J, sigma):
    """Joule heat rho |J|^2 = |J|^2 / sigma (W/m^3) of a flux unknown J."""
    return ufl.inner(J, J) / sigma


def electrode_dofs(V, facet_tags: dmesh.MeshTags, tag: int) -> np.ndarray:
    """Potential dofs (in V's parent numbering when V is a subspace) on an electrode patch."""
    fdim = facet_tags.dim
    return fem.locate_dofs_topological(V, fdim, facet_tags.find(tag))


def substrate_only_dofs(V, cell_tags: dmesh.MeshTags, film_tag: int) -> np.ndarray:
    """Dofs of V that belong to no film cell (the current-free substrate interior)."""
    tdim = cell_tags.dim
    all_cells = np.arange(
        cell_tags.topology.index_map(tdim).size_local + cell_tags.topology.index_map(tdim).num_ghosts, dtype=np.int32
    )
    film_cells = cell_tags.find(film_tag)
    others = np.setdiff1d(all_cells, film_cells).astype(np.int32)
    if others.size == 0:
        return np.zeros(0, dtype=np.int32)
    d_other = fem.locate_dofs_topological(V, tdim, others)
    d_film = fem.locate_dofs_topological(V, tdim, film_cells)
    return np.setdiff1d(d_other, d_film).astype(np.int32)


def flux_bcs(
    J_space, V_J, phi_space, facet_tags: dmesh.MeshTags, closed: np.ndarray, substrate_cells: np.ndarray | None
) -> list:
    """Essential conditions of the mixed (flux) form: j = 0 on the dofs of the `closed`
    facets (j.n = 0 through those film surfaces) and, given `substrate_cells`, j = 0 and
    phi = 0 in the substrate, which carries no current. `J_space`/`phi_space` are the
    subspaces of the mixed space, `V_J` the collapsed current space."""
    fdim = facet_tags.dim
    pair = (J_space, V_J)
    dJ = fem.locate_dofs_topological(pair, fdim, closed)
    if substrate_cells is not None:
        dJs = fem.locate_dofs_topological(pair, fdim + 1, substrate_cells)
        dJ = [np.unique(np.concatenate([dJ[0], dJs[0]])), np.unique(np.concatenate([dJ[1], dJs[1]]))]
    bcs = [fem.dirichletbc(fem.Function(V_J), dJ, J_space)]
    if substrate_cells is not None:
        dphi = fem.locate_dofs_topological(phi_space, fdim + 1, substrate_cells)
        bcs.append(fem.dirichletbc(np.float64(0.0), dphi, phi_space))
    return bcs


@dataclass
class ElectricalForm:
    """The electrical residual of one current discretization and what derives from it."""

    residual: ufl.Form  # F_e(u; test functions)
    current_density: ufl.core.expr.Expr  # j (A/m^2)
    joule_density: ufl.core.expr.Expr  # rho |j|^2 (W/m^3)
    current: ufl.Form  # total current entering at the positive electrode (A)
    voltage_derivative: ufl.Form | None  # dF_e/dV; None: the derivative along the voltage lift


def p1_form(phi, v, sigma, dx_film, lift, emf=None) -> ElectricalForm:
    """P1 potential with phi = V on the positive patch as Dirichlet data; the current is the
    reaction there, F_e tested with `lift` (1 on the positive patch's dofs)."""
    return ElectricalForm(
        residual(phi, v, sigma, dx_film, emf),
        current_density(phi, sigma, emf),
        joule_density(phi, sigma, emf),
        residual(phi, lift, sigma, dx_film, emf),
        None,
    )


def mixed_form(phi, J, q, tau, sigma, V, n, dx_film, ds_pos, emf=None, contacts=()) -> ElectricalForm:
    """Raviart-Thomas current J and cell potential phi; V enters through the positive patch, and
    the current is the exact flux -J . n through it. `contacts`: further (V_k, ds_k) pairs, each
    adding the natural condition phi = V_k on its contact (integral of V_k tau . n over it)."""
    F = mixed_residual(phi, J, q, tau, 1.0 / sigma, V, n, dx_film, ds_pos, emf)
    for V_k, ds_k in contacts:
        F = F + V_k * ufl.dot(tau, n) * ds_k
    return ElectricalForm(
        F,
        J,
        joule_density_flux(J, sigma),
        -ufl.dot(J, n) * ds_pos,
        ufl.dot(tau, n) * ds_pos,
    )
