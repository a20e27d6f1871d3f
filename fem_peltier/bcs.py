"""Boundary conditions as objects: the electrode patches and the thermal surface conditions.

Electrodes are equipotential metal contacts, phi = 0 on the negative patch and
phi = V on the positive one; no current crosses the other film surfaces and none
flows in the substrate. Thermally, each outer surface (mesh_data.SURFACE_TAGS) is
held at a temperature, loses heat by convection, takes a prescribed flux, or is
adiabatic ([[thermal.boundary]]; by default T = T0 on the bottom face and every
other surface adiabatic). The temperature conditions are the heat sink: their
Newton corrections are homogeneous, so the sink keeps its dofs, a homogeneous
DirichletBC and an indicator function (1 on its dofs) to read the reaction off the
residual. Convection and flux conditions are residual terms on ds(surface)
(thermal.robin_form, thermal.flux_form).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
from dolfinx import fem, la
from dolfinx import mesh as dmesh
from petsc4py import PETSc

from . import electrical
from .config import ResolvedConfig
from .errors import InputError, SolverError
from .fields import CURRENT, POTENTIAL, TEMPERATURE, Unknowns
from .mesh import (
    ELECTRODE_NEG,
    ELECTRODE_POS,
    FILM,
    OTHER,
    SIDES,
    SINK,
    SUBSTRATE,
    SURFACE_TAGS,
    TOP,
    X0,
    XL,
    FilmMesh,
)


ZERO = np.zeros(1, dtype=PETSc.ScalarType)[0]  # the homogeneous value of every condition


def closed_film_facets(facet_tags: dmesh.MeshTags) -> np.ndarray:
    """Outer facets that carry no current: everything but the two electrode patches."""
    return np.concatenate([facet_tags.find(t) for t in (SINK, TOP, OTHER, SIDES, X0, XL)]).astype(np.int32)


@dataclass
class SurfaceCondition:
    """The thermal condition on one named outer surface (a [[thermal.boundary]] entry after
    the film-to-sink interface resistance is folded in: see thermal_conditions)."""

    surface: str  # a SURFACE_TAGS name
    tag: int  # its facet tag
    type: str  # "temperature", "convection", "flux"
    value: float = 0.0  # t (temperature), h (convection), q (flux)
    t_ambient: float = 0.0  # convection only


def thermal_conditions(cfg: ResolvedConfig) -> list[SurfaceCondition]:
    """The non-adiabatic surface conditions of `cfg`, in the order given.

    Without thermal.boundary: T = t0 on the bottom face. Without a substrate, a
    thermal.interface_resistance R lies between the film and the bottom face's sink: a
    temperature t becomes the Robin condition h = 1/R, t_ambient = t, and a convection h
    the series conductance 1 / (1/h + R).
    """
    th = cfg.thermal
    out: list[SurfaceCondition] = []
    if th.boundary is None:
        out.append(SurfaceCondition("bottom", SINK, "temperature", float(th.t0)))
    else:
        for bc in th.boundary:
            tag = SURFACE_TAGS[bc.surface]
            if bc.type == "temperature":
                assert bc.t is not None
                out.append(SurfaceCondition(bc.surface, tag, "temperature", float(bc.t)))
            elif bc.type == "convection":
                assert bc.h is not None and bc.t_ambient is not None
                out.append(SurfaceCondition(bc.surface, tag, "convection", float(bc.h), float(bc.t_ambient)))
            elif bc.type == "flux":
                assert bc.q is not None
                out.append(SurfaceCondition(bc.surface, tag, "flux", float(bc.q)))
    R = float(th.interface_resistance)
    if R > 0 and cfg.geometry.substrate_thickness == 0:
        for c in out:
            if c.surface == "bottom" and c.type == "temperature":
                c.type, c.value, c.t_ambient = "convection", 1.0 / R, c.value
            elif c.surface == "bottom" and c.type == "convection":
                c.value = 1.0 / (1.0 / c.value + R)
    return out


def check_surfaces(cfg: ResolvedConfig, facet_tags: dmesh.MeshTags, comm: MPI.Comm) -> None:
    """Every surface a [[thermal.boundary]] entry names must have facets on this mesh."""
    if cfg.thermal.boundary is None:
        return
    for i, bc in enumerate(cfg.thermal.boundary):
        n = comm.allreduce(int(facet_tags.find(SURFACE_TAGS[bc.surface]).size), op=MPI.SUM)
        if n:
            continue
        why = ""
        if bc.surface in ("sides", "x0", "xL") and comm.allreduce(int(facet_tags.find(OTHER).size), op=MPI.SUM):
            why = (
                " (a .msh file written before the 'sides', 'x0' and 'xL' physical groups existed calls these "
                "faces 'other': regenerate it with `fem-peltier mesh`)"
            )
        elif bc.surface in ("x0", "xL") and cfg.geometry.electrodes == "ends":
            why = ' (with geometry.electrodes = "ends" the film\'s end faces are the electrode patches)'
        raise InputError(f"thermal.boundary[{i}].surface", f"the mesh has no facets on surface '{bc.surface}'{why}")


@dataclass
class HeatSink:
    """T = t on the dofs of the temperature surfaces; the heat leaving through them is the
    reaction -F . indicator (W), per surface -F . surface_indicators[name]."""

    dofs: np.ndarray  # temperature dofs in the state numbering
    bc: fem.DirichletBC  # homogeneous: the Newton corrections keep T = t
    indicator: fem.Function  # 1 on `dofs`
    t0_K: float
    values: np.ndarray | None = None  # per-dof temperatures (None: t0_K on every dof)
    # per temperature surface: 1 on the dofs that surface holds (a dof shared by two
    # temperature surfaces belongs to the first one listed)
    surface_indicators: dict[str, fem.Function] = field(default_factory=dict)

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

    @classmethod
    def on_surfaces(
        cls, unknowns: Unknowns, facet_tags: dmesh.MeshTags, conditions: list[SurfaceCondition], t0_K: float
    ) -> HeatSink:
        """The sink of the temperature conditions among `conditions` (possibly none)."""
        temps = [c for c in conditions if c.type == "temperature"]
        if len(temps) == 1 and temps[0].tag == SINK and temps[0].value == t0_K:
            sink = cls.on_facets(unknowns, facet_tags, t0_K)  # the default: exactly as before
            sink.surface_indicators = {temps[0].surface: sink.indicator}
            return sink
        space = unknowns[TEMPERATURE].subspace
        taken = np.zeros(unknowns.u.x.array.size, dtype=bool)
        all_dofs, all_vals, indicators = [], [], {}
        for c in temps:
            # the surface's dofs as every rank sees them (a rank may hold a dof of the surface
            # without the facet): which surface a shared dof belongs to is the same on all ranks
            mark = fem.Function(unknowns.space)
            mark.x.array[fem.locate_dofs_topological(space, facet_tags.dim, facet_tags.find(c.tag))] = 1.0
            mark.x.scatter_reverse(la.InsertMode.add)
            mark.x.scatter_forward()
            dofs = np.flatnonzero(mark.x.array > 0).astype(np.int32)
            dofs = dofs[~taken[dofs]]
            taken[dofs] = True
            chi = fem.Function(unknowns.space, name=f"chi_{c.surface}")
            chi.x.array[dofs] = 1.0
            indicators[c.surface] = chi
            all_dofs.append(dofs)
            all_vals.append(np.full(dofs.size, c.value))
        dofs = np.concatenate(all_dofs).astype(np.int32) if all_dofs else np.zeros(0, dtype=np.int32)
        vals = np.concatenate(all_vals) if all_vals else np.zeros(0)
        order = np.argsort(dofs)
        sink = cls.at_dofs(unknowns, dofs[order], t0_K)
        sink.values = vals[order]
        sink.surface_indicators = indicators
        return sink

    def impose(self, u: np.ndarray) -> None:
        """Put T = t on the sink dofs of a state array."""
        u[self.dofs] = self.t0_K if self.values is None else self.values


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


def check_patches(electrodes: Electrodes, sink: HeatSink, comm: MPI.Comm, has_robin: bool = False) -> None:
    """A mesh without facets on either electrode, or without a heat sink, cannot be solved
    (a convection condition is a sink too: `has_robin`)."""
    n_sink = comm.allreduce(int(sink.dofs.size), op=MPI.SUM)
    for name, n in zip(("electrode_neg", "electrode_pos", "sink"), [*electrodes.facet_counts, n_sink]):
        if n == 0 and not (name == "sink" and has_robin):
            raise SolverError(f"the mesh has no '{name}' facets")
