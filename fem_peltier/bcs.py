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
from .fields import CURRENT, EXCESS, POTENTIAL, TEMPERATURE, Unknowns
from .mesh import (
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
from .terminals import AUX, FIXED, MAIN, TerminalSpec


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


def thermal_conditions(cfg: ResolvedConfig, surfaces: dict[str, int] | None = None) -> list[SurfaceCondition]:
    """The non-adiabatic surface conditions of `cfg`, in the order given.

    Without thermal.boundary: T = t0 on the bottom face. Without a substrate, a
    thermal.interface_resistance R lies between the film and the bottom face's sink: a
    temperature t becomes the Robin condition h = 1/R, t_ambient = t, and a convection h
    the series conductance 1 / (1/h + R).
    """
    th = cfg.thermal
    surfaces = SURFACE_TAGS if surfaces is None else surfaces
    out: list[SurfaceCondition] = []
    if th.boundary is None:
        out.append(SurfaceCondition("bottom", SINK, "temperature", float(th.t0)))
    else:
        for bc in th.boundary:
            tag = surfaces[bc.surface]
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


def check_surfaces(cfg: ResolvedConfig, fm: FilmMesh, comm: MPI.Comm) -> None:
    """Every surface a [[thermal.boundary]] entry names must have facets on this mesh."""
    if cfg.thermal.boundary is None:
        return
    facet_tags = fm.facet_tags
    for i, bc in enumerate(cfg.thermal.boundary):
        if bc.surface not in fm.surfaces:
            raise InputError(
                f"thermal.boundary[{i}].surface",
                f"the mesh has no surface group '{bc.surface}' (it has {', '.join(sorted(fm.surfaces))})",
            )
        n = comm.allreduce(int(facet_tags.find(fm.surfaces[bc.surface]).size), op=MPI.SUM)
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
    def at_dofs(cls, unknowns: Unknowns, dofs: np.ndarray, t0_K: float, field: str = TEMPERATURE) -> HeatSink:
        """A sink holding the dofs `dofs` (state numbering) of the temperature `field` at t0_K."""
        dofs = np.asarray(dofs, dtype=np.int32)
        bc = fem.dirichletbc(ZERO, dofs, unknowns[field].subspace)
        indicator = fem.Function(unknowns.space, name="chi_sink")
        indicator.x.array[dofs] = 1.0
        return cls(dofs, bc, indicator, float(t0_K))

    @classmethod
    def on_facets(
        cls, unknowns: Unknowns, facet_tags: dmesh.MeshTags, t0_K: float, field: str = TEMPERATURE
    ) -> HeatSink:
        """The sink on the facets tagged SINK (the film bottom, or the substrate's)."""
        dofs = fem.locate_dofs_topological(unknowns[field].subspace, facet_tags.dim, facet_tags.find(SINK))
        return cls.at_dofs(unknowns, dofs, t0_K, field)

    @classmethod
    def on_surfaces(
        cls,
        unknowns: Unknowns,
        facet_tags: dmesh.MeshTags,
        conditions: list[SurfaceCondition],
        t0_K: float,
        field: str = TEMPERATURE,
    ) -> HeatSink:
        """The sink of the temperature conditions among `conditions` (possibly none)."""
        temps = [c for c in conditions if c.type == "temperature"]
        if len(temps) == 1 and temps[0].tag == SINK and temps[0].value == t0_K:
            sink = cls.on_facets(unknowns, facet_tags, t0_K, field)  # the default: exactly as before
            sink.surface_indicators = {temps[0].surface: sink.indicator}
            return sink
        space = unknowns[field].subspace
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
        sink = cls.at_dofs(unknowns, dofs[order], t0_K, field)
        sink.values = vals[order]
        sink.surface_indicators = indicators
        return sink

    def absorb(self, other: HeatSink) -> None:
        """Count `other`'s reactions as this sink's (its dofs are another field's: the electrons'
        of the two-temperature model), per surface too; its condition stays its own."""
        self.indicator.x.array[:] += other.indicator.x.array
        for name, chi in other.surface_indicators.items():
            mine = self.surface_indicators.get(name)
            if mine is not None and mine is not self.indicator:  # (the default sink shares it)
                mine.x.array[:] += chi.x.array

    def impose(self, u: np.ndarray) -> None:
        """Put T = t on the sink dofs of a state array."""
        u[self.dofs] = self.t0_K if self.values is None else self.values


@dataclass
class Electrodes:
    """The electrode contacts (terminals.py): phi = V on the driven one, V_k on the fixed ones
    (the negative patch at 0 V on a film mesh), and unknown V_k on current terminals and
    floating probes.

    P1 potential: every contact's dofs are Dirichlet dofs (with the substrate-only potential
    dofs pinned), the current is the reaction at a contact. Mixed form: the potentials are
    natural conditions, j = 0 is imposed on the closed film surfaces and in the substrate,
    and the current is the flux through a contact. `indicator` is 1 on the driven contact's
    potential dofs, `aux_indicators[k]` on the k-th aux terminal's (P1 form).
    """

    neg_dofs: np.ndarray  # the fixed contacts' potential dofs (P1), all of them
    pos_dofs: np.ndarray  # the driven contact's potential dofs (P1)
    pinned_dofs: np.ndarray  # substrate-only potential dofs (P1 form)
    bcs: list[fem.DirichletBC]
    indicator: fem.Function
    facet_counts: tuple[int, ...]  # global number of facets of each terminal's contact (specs order)
    specs: list[TerminalSpec] = field(default_factory=list)
    fixed_dofs: list[np.ndarray] = field(default_factory=list)  # per FIXED terminal (P1)
    fixed_V: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their present potentials (V)
    aux_dofs: list[np.ndarray] = field(default_factory=list)  # per AUX terminal (P1)
    aux_V: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their present potentials (V)
    aux_indicators: list[fem.Function] = field(default_factory=list)  # 1 on each AUX contact's dofs (P1)

    @classmethod
    def create(cls, unknowns: Unknowns, fm: FilmMesh, has_substrate: bool, specs: list[TerminalSpec]) -> Electrodes:
        ft, comm = fm.facet_tags, fm.mesh.comm
        counts = tuple(comm.allreduce(int(ft.find(t.tag).size), op=MPI.SUM) for t in specs)
        empty = np.zeros(0, dtype=np.int32)
        pot = unknowns[POTENTIAL].subspace
        fixed = [t for t in specs if t.role == FIXED]
        aux = [t for t in specs if t.role == AUX]
        main = next(t for t in specs if t.role == MAIN)
        fixed_dofs: list[np.ndarray] = []
        aux_dofs: list[np.ndarray] = []
        if CURRENT in unknowns:
            cur = unknowns[CURRENT]
            # no current through the insulating film surfaces, none in the substrate
            bcs = electrical.flux_bcs(
                cur.subspace,
                cur.space,
                pot,
                ft,
                closed_film_facets(ft) if not fm.device else _closed_device_facets(fm, specs),
                fm.cell_tags.find(SUBSTRATE) if has_substrate else None,
            )
            neg = pos = pinned = empty
            fixed_dofs = [empty for _ in fixed]
            aux_dofs = [empty for _ in aux]
        else:
            fixed_dofs = [electrical.electrode_dofs(pot, ft, t.tag) for t in fixed]
            aux_dofs = [electrical.electrode_dofs(pot, ft, t.tag) for t in aux]
            neg = np.concatenate(fixed_dofs).astype(np.int32) if fixed_dofs else empty
            pos = electrical.electrode_dofs(pot, ft, main.tag)
            pinned = electrical.substrate_only_dofs(pot, fm.cell_tags, FILM) if has_substrate else empty
            bcs = [fem.dirichletbc(ZERO, d, pot) for d in (*fixed_dofs, pos, *aux_dofs)]
            if pinned.size:
                bcs.append(fem.dirichletbc(ZERO, pinned, pot))
        indicator = fem.Function(unknowns.space, name="chi_pos")
        indicator.x.array[pos] = 1.0
        aux_indicators = []
        for t, d in zip(aux, aux_dofs):
            chi = fem.Function(unknowns.space, name=f"chi_{t.name}")
            chi.x.array[d] = 1.0
            aux_indicators.append(chi)
        return cls(
            neg,
            pos,
            pinned,
            bcs,
            indicator,
            counts,
            list(specs),
            fixed_dofs,
            np.array([t.voltage_V for t in fixed], dtype=float),
            aux_dofs,
            np.zeros(len(aux)),
            aux_indicators,
        )

    @property
    def fixed_specs(self) -> list[TerminalSpec]:
        return [t for t in self.specs if t.role == FIXED]

    @property
    def aux_specs(self) -> list[TerminalSpec]:
        return [t for t in self.specs if t.role == AUX]

    def impose(self, u: np.ndarray, V: float) -> None:
        """Put each contact's potential on its dofs of a state array (P1 form; nothing to do for
        the mixed): V_k on the fixed and aux contacts, V on the driven one."""
        for d, v in zip(self.fixed_dofs, self.fixed_V):
            u[d] = v
        for d, v in zip(self.aux_dofs, self.aux_V):
            u[d] = v
        u[self.pos_dofs] = V


def _closed_device_facets(fm: FilmMesh, specs: list[TerminalSpec]) -> np.ndarray:
    """The outer facets of a device mesh that carry no current: every exterior facet but the
    contacts (untagged facets included: a surface nobody named is insulating)."""
    msh, ft = fm.mesh, fm.facet_tags
    outer = dmesh.exterior_facet_indices(msh.topology)
    contacts = np.concatenate([ft.find(t.tag) for t in specs]) if specs else np.zeros(0, dtype=np.int32)
    return np.setdiff1d(outer, contacts).astype(np.int32)


def check_patches(electrodes: Electrodes, sink: HeatSink, comm: MPI.Comm, has_robin: bool = False) -> None:
    """A mesh without facets on either electrode, or without a heat sink, cannot be solved
    (a convection condition is a sink too: `has_robin`)."""
    n_sink = comm.allreduce(int(sink.dofs.size), op=MPI.SUM)
    names = [f"electrode_{t.name}" for t in electrodes.specs]
    if [t.name for t in electrodes.specs] == ["negative", "positive"]:
        names = ["electrode_neg", "electrode_pos"]  # the film mesh's group names
    for name, n in zip([*names, "sink"], [*electrodes.facet_counts, n_sink]):
        if n == 0 and not (name == "sink" and has_robin):
            raise SolverError(f"the mesh has no '{name}' facets")


def electron_sink(
    unknowns: Unknowns, fm: FilmMesh, conditions: list[SurfaceCondition], t0_K: float, at_sink: bool
) -> HeatSink:
    """The held electron temperatures of the two-temperature model, as theta = T_e - T_l = 0 on
    the electrons' excess field: on the dofs in no film cell (the substrate has no electrons:
    their rows are empty) and, `at_sink` (thermal.electron_sink = "lattice"), on the
    temperature surfaces (the electrons take the sink's temperature there, as the lattice)."""
    space = unknowns[EXCESS].subspace
    dofs = [electrical.substrate_only_dofs(space, fm.cell_tags, FILM)]
    indicators: dict[str, fem.Function] = {}
    if at_sink:
        held = HeatSink.on_surfaces(unknowns, fm.facet_tags, conditions, t0_K, EXCESS)
        dofs.append(held.dofs)
        indicators = held.surface_indicators
    all_dofs = np.unique(np.concatenate(dofs)).astype(np.int32)
    sink = HeatSink.at_dofs(unknowns, all_dofs, t0_K, EXCESS)
    sink.values = np.zeros(all_dofs.size)
    sink.surface_indicators = indicators
    return sink
