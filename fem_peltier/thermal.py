"""Thermal problem on film plus substrate (paper Eq. 7):

    -div(kappa grad T) = rho |j|^2 - T j . grad S

with, on each outer surface (bcs.py, [[thermal.boundary]]), a temperature T = t, a
convection (Robin) condition -kappa dT/dn = h (T - t_ambient), a flux
-kappa dT/dn = -q (q > 0 flows in) or no flux; by default T = T0 on the bottom face
and no flux elsewhere. The phase m is constant in each cell, so grad S is a sum of
surface deltas on the facets where the phase changes (Peltier) plus, when S depends on
T, the volume part (dS/dT) grad T inside each cell (Thomson, -T (dS/dT) j . grad T).
The Peltier term is the facet integral

    + integral over F of avg(T) jump(S, n) . avg(j) avg(w) dS,

jump(S, n) = S('+') n('+') + S('-') n('-'). It releases T (S_I - S_M) I where a
current I crosses from the insulator (higher S) into the metal, and absorbs as
much where it flows the other way. The expression is independent of which
side of a facet is '+'.

At the film/electrode contacts (material.seebeck_electrode = S_e) the same physics
releases T (S - S_e) j . n per unit area, n the outward normal of the film: heating
where current leaves the film into a metal of lower S, cooling where it enters from one.
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh


def conduction(T, w, kappa, dx) -> ufl.Form:
    """Integral of kappa grad(T) . grad(w) (W)."""
    return kappa * ufl.inner(ufl.grad(T), ufl.grad(w)) * dx


def thomson_density(T, dS_dT, j):
    """Thomson heat per unit volume, -T (dS/dT) j . grad T (W/m^3), dS/dT at fixed phase."""
    return -T * dS_dT * ufl.dot(j, ufl.grad(T))


def peltier_path_form(T, S, j, w, n, dx, ds_contacts) -> ufl.Form:
    """Integral of S j . grad(T w) dx minus integral of S T w j . n over the contacts (W for w = 1).

    For a current with div j = 0 in every cell and continuous j . n (the mixed current), the
    divergence theorem cell by cell turns the heat -T j . grad S of the film, tested with w,
    into this volume form: the interface Peltier facets' sum of T w jump(S, n) . j plus the
    Thomson heat -T w (dS/dT) j . grad T (docs/physics.md, "The Peltier heat as a volume
    integral"). With w = 1 it is the net Peltier heat checked by diagnostics.peltier_flux_form.
    """
    return S * ufl.dot(j, ufl.grad(T * w)) * dx - S * T * w * ufl.dot(j, n) * ds_contacts


def peltier_facet_density(T, S, j, n):
    """Interface Peltier heat per unit area, avg(T) jump(S, n) . avg(j) (W/m^2)."""
    jump_S = S("+") * n("+") + S("-") * n("-")
    return ufl.avg(T) * ufl.dot(jump_S, ufl.avg(j))


def robin_form(T, w, h, t_ambient, ds) -> ufl.Form:
    """Convection (Robin) condition -kappa dT/dn = h (T - t_ambient): + integral of h (T - t_amb) w (W)."""
    return h * (T - t_ambient) * w * ds


def flux_form(w, q, ds) -> ufl.Form:
    """Prescribed heat flux q into the body (W/m^2, q > 0 heats): - integral of q w (W)."""
    return -(q * w * ds)


def interface_layer(msh: dmesh.Mesh, cell_tags: dmesh.MeshTags, substrate_tag: int) -> tuple[fem.Function, float]:
    """The Kapitza layer: the substrate slab -t < z < 0 under the film, t the largest depth of
    the substrate cells that touch the interface z = 0 (a vertex on it). Returns (chi, t): chi
    a DG0 function, 1 on the substrate cells with every vertex in -t <= z <= 0 (local cells
    including ghosts). On meshes with a mesh plane at z = -t (box meshes, the layered "ends"
    meshes, point-electrode meshes generated with a resistance: gmsh_film.kapitza_layer_thickness)
    these cells fill the slab exactly."""
    tdim = msh.topology.dim
    Q0 = fem.functionspace(msh, ("DG", 0))
    chi = fem.Function(Q0, name="kapitza_layer")
    n_loc = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    z = msh.geometry.x[:, 2]
    zc = z[msh.geometry.dofmaps[0][:n_loc]]  # (cells, vertices): z of each cell's vertices
    scale = msh.comm.allreduce(float(np.abs(z).max(initial=0.0)), op=MPI.MAX)
    tol = 1e-9 * scale
    sub = np.zeros(n_loc, dtype=bool)
    sub[cell_tags.find(substrate_tag)] = True
    touching = sub & (np.abs(zc) <= tol).any(axis=1)
    depth = float(-zc[touching].min(initial=0.0))
    depth = msh.comm.allreduce(depth, op=MPI.MAX)
    layer = sub & (zc >= -depth - tol).all(axis=1)
    chi.x.array[Q0.dofmap.list[:n_loc, 0][layer]] = 1.0
    return chi, depth


def with_interface_resistance(kappa, R, chi, depth: float):
    """Conductivity of the substrate with a Kapitza resistance R (m^2 K/W) at its interface
    with the film, as a thin layer: in the layer (chi = 1, thickness t = depth) the series
    resistance t/kappa + R per unit area becomes t/kappa_eff,

        kappa_eff = kappa / (1 + kappa R / t),

    so that heat crossing the layer normally sees exactly the resistance R more (docs/physics.md)."""
    return kappa / (1.0 + chi * kappa * R / depth)


def contact_peltier_density(T, S, S_electrode, j, n):
    """Contact Peltier heat per unit area on a film boundary facet, T (S - S_e) j . n (W/m^2)."""
    return T * (S - S_electrode) * ufl.dot(j, n)
