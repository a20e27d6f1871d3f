"""Boundary conditions as objects: the electrode patches and the heat sink.

Electrodes are equipotential metal contacts, phi = 0 on the negative patch and
phi = V on the positive one; no current crosses the other film surfaces and none
flows in the substrate. The heat sink holds T = T0 on its facets; every other
surface is adiabatic. The Newton corrections are homogeneous on all of these, so
each condition keeps its dofs, a homogeneous DirichletBC and, where a reaction is
read off the residual, an indicator function (1 on its dofs).
"""

from __future__ import annotations

from dataclasses import dataclass

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
from dolfinx import fem
from dolfinx import mesh as dmesh
from petsc4py import PETSc

from . import electrical
from .errors import SolverError
from .fields import CURRENT, POTENTIAL, TEMPERATURE, Unknowns
from .mesh import ELECTRODE_NEG, ELECTRODE_POS, FILM, OTHER, SINK, SUBSTRATE, TOP, FilmMesh


ZERO = np.zeros(1, dtype=PETSc.ScalarType)[0]  # the homogeneous value of every condition


def closed_film_facets(facet_tags: dmesh.MeshTags) -> np.ndarray:
    """Outer facets that carry no current: everything but the two electrode patches."""
    return np.concatenate([facet_tags.find(t) for t in (SINK, TOP, OTHER)]).astype(np.int32)


@dataclass
class HeatSink:
    """T = T0 on the heat-sink dofs; the heat into the sink is the reaction -F . indicator (W)."""

    dofs: np.ndarray  # temperature dofs in the state numbering
    bc: fem.DirichletBC  # homogeneous: the Newton corrections keep T = T0
    indicator: fem.Function  # 1 on `dofs`
    t0_K: float

    @classmethod
    def at_dofs(cls, unknowns: Unknowns, dofs: np.ndarray, t0_K: float) -> HeatSink:
        """A sink holding the temperature dofs `dofs` (state numbering) at t0_K."""
        dofs = np.asarray(dofs, dtype=np.int32)
        bc = fem.dirichletbc(ZERO, dofs, unknowns[TEMPERATURE].subspace)
        indicator = fem.Function(unknowns.space, name="chi_sink")
        indicator.x.array[dofs] = 1.0
        return cls(dofs, bc, indicator, float(t0_K))

    @classmethod
    def on_facets(cls, unknowns: Unknowns, facet_tags: dmesh.MeshTags, t0_K: float) -> HeatSink:
        """The sink on the facets tagged SINK (the film bottom, or the substrate's)."""
        dofs = fem.locate_dofs_topological(unknowns[TEMPERATURE].subspace, facet_tags.dim, facet_tags.find(SINK))
        return cls.at_dofs(unknowns, dofs, t0_K)

    def impose(self, u: np.ndarray) -> None:
        """Put T = T0 on the sink dofs of a state array."""
        u[self.dofs] = self.t0_K


@dataclass
class Electrodes:
    """The two electrode patches: phi = 0 (negative), phi = V (positive).

    P1 potential: both patches are Dirichlet dofs (with the substrate-only potential
    dofs pinned), and the current is the reaction at the positive patch. Mixed form:
    the potentials are natural conditions, j = 0 is imposed on the closed film
    surfaces and in the substrate, and the current is the flux through the positive
    patch. `indicator` is 1 on the positive patch's potential dofs (P1 form).
    """

    neg_dofs: np.ndarray
    pos_dofs: np.ndarray
    pinned_dofs: np.ndarray  # substrate-only potential dofs (P1 form)
    bcs: list[fem.DirichletBC]
    indicator: fem.Function
    facet_counts: tuple[int, int]  # global number of facets of the (negative, positive) patch

    @classmethod
    def create(cls, unknowns: Unknowns, fm: FilmMesh, has_substrate: bool) -> Electrodes:
        ft, comm = fm.facet_tags, fm.mesh.comm
        counts = tuple(comm.allreduce(int(ft.find(t).size), op=MPI.SUM) for t in (ELECTRODE_NEG, ELECTRODE_POS))
        empty = np.zeros(0, dtype=np.int32)
        pot = unknowns[POTENTIAL].subspace
        if CURRENT in unknowns:
            cur = unknowns[CURRENT]
            # no current through the insulating film surfaces, none in the substrate
            bcs = electrical.flux_bcs(
                cur.subspace,
                cur.space,
                pot,
                ft,
                closed_film_facets(ft),
                fm.cell_tags.find(SUBSTRATE) if has_substrate else None,
            )
            neg = pos = pinned = empty
        else:
            neg = electrical.electrode_dofs(pot, ft, ELECTRODE_NEG)
            pos = electrical.electrode_dofs(pot, ft, ELECTRODE_POS)
            pinned = electrical.substrate_only_dofs(pot, fm.cell_tags, FILM) if has_substrate else empty
            bcs = [fem.dirichletbc(ZERO, neg, pot), fem.dirichletbc(ZERO, pos, pot)]
            if pinned.size:
                bcs.append(fem.dirichletbc(ZERO, pinned, pot))
        indicator = fem.Function(unknowns.space, name="chi_pos")
        indicator.x.array[pos] = 1.0
        return cls(neg, pos, pinned, bcs, indicator, (int(counts[0]), int(counts[1])))

    def impose(self, u: np.ndarray, V: float) -> None:
        """Put phi = 0 / V on the patch dofs of a state array (P1 form; nothing to do for the mixed)."""
        u[self.neg_dofs] = 0.0
        u[self.pos_dofs] = V


def check_patches(electrodes: Electrodes, sink: HeatSink, comm: MPI.Comm) -> None:
    """A mesh without facets on either electrode or on the heat sink cannot be solved."""
    n_sink = comm.allreduce(int(sink.dofs.size), op=MPI.SUM)
    for name, n in zip(("electrode_neg", "electrode_pos", "sink"), [*electrodes.facet_counts, n_sink]):
        if n == 0:
            raise SolverError(f"the mesh has no '{name}' facets")
