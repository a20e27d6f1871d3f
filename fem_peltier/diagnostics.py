"""Derived quantities of a solved state: heat terms, temperatures, metal extent, probes.

Every integral is assembled on each rank and allreduced, so the numbers are the
same in serial and under mpirun.
"""

from __future__ import annotations

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
from dolfinx import fem
from petsc4py import PETSc

import dolfinx.fem.petsc as fpetsc

from . import thermal
from .coupled import CoupledProblem
from .fields import EXCESS, TEMPERATURE
from .metal_regions import metal_regions, region_summary, terminal_reaches
from .terminals import reference_and_driven
from .sampling import probe, top_line_points  # probe: also imported from here by tests
from .mesh import ELECTRODE_NEG, ELECTRODE_POS, FILM, TOP


def integrate(problem: CoupledProblem, integrand) -> float:
    """Global value of a UFL scalar form."""
    return problem.comm.allreduce(fem.assemble_scalar(fem.form(integrand)), op=MPI.SUM)


def heat_terms(problem: CoupledProblem) -> dict[str, float]:
    """Every heat source of the problem (heat_<name>_W: Joule, Peltier, Thomson, contact Peltier, ...;
    the contact key is 0 without material.seebeck_electrode), the heat leaving
    through each thermal boundary surface and the total leaving through the temperature and
    convection surfaces (heat_to_sink_W), W.

    heat_boundary_<surface>_W is the heat leaving through that surface: the reaction (the
    residual tested with the surface's indicator) on a temperature surface, the integral of
    h (T - t_ambient) on a convection surface, -q times its area on a flux surface. The
    balance |sum of sources + heat flowing in through flux surfaces - heat_to_sink_W| / scale,
    scale = max(sum of |source| + |flux in|, half the sum of |heat_boundary_<surface>_W|),
    closes to round-off in a converged state. In a transient heat_storage_W, the heat going into
    storage (c dT/dt + L dm/dt), is one more term: sources + flux in = sink + storage."""
    p = problem
    out: dict[str, float] = {}
    for src in p.physics.sources:
        out[src.summary_key] = p.comm.allreduce(p.local_power(src), op=MPI.SUM)
    # the contact source exists only with material.seebeck_electrode; its key is always reported
    out.setdefault("heat_contact_peltier_W", 0.0)
    F = fpetsc.create_vector(p.U)
    with F.localForm() as loc:
        loc.set(0.0)
    for form in (p.F_form, *p.F_parts):  # the interface facets in chunks (coupled.py)
        fpetsc.assemble_vector(F, form)
    F.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    sink = -F.dot(p.sink.indicator.x.petsc_vec)
    boundary: dict[str, float] = {}
    flux_in = 0.0
    for c in getattr(p, "thermal_conditions", []):
        if c.type == "temperature" and c.surface in p.sink.surface_indicators:
            boundary[c.surface] = -F.dot(p.sink.surface_indicators[c.surface].x.petsc_vec)
        elif c.type in ("convection", "flux"):
            boundary[c.surface] = integrate(p, p.heat_boundary_forms[c.surface])
            if c.type == "convection":
                sink += boundary[c.surface]
            else:
                flux_in -= boundary[c.surface]
    F.destroy()
    total = sum(out.values()) + flux_in
    if p.storage is not None:  # a transient: the heat going into storage (heat_storage.py)
        out["heat_storage_W"] = p.storage.rate_W()
        net = total - sink  # what the stack gains: sources + heat flowing in - heat leaving
        total -= out["heat_storage_W"]
    # the scale: the heat generated, or the heat passing through the surfaces if that is more
    # (heat entering from a hot ambient or surface and leaving elsewhere, with little generated)
    denom = max(sum(abs(v) for v in out.values()) + abs(flux_in), 0.5 * sum(abs(v) for v in boundary.values()))
    out.setdefault("heat_thomson_W", 0.0)  # reported always: 0 when S does not depend on T
    out["heat_to_sink_W"] = sink
    if p.storage is not None:
        out["heat_net_W"] = net
    out["heat_balance_rel"] = abs(total - sink) / denom if denom > 0 else 0.0
    for surface, value in boundary.items():
        out[f"heat_boundary_{surface}_W"] = value
    out.update(peltier_flux_form(p))
    return out


def two_temperature_quantities(problem: CoupledProblem, sources_W: float) -> dict[str, float]:
    """T_electron_max_K, T_lattice_max_K (over the film's vertices) and heat_exchange_W, the
    integral of gamma_el (T_e - T_l) over the film: the heat the electrons pass to the lattice
    (W). In a steady state with adiabatic electrons at the sink it equals the heat generated,
    `sources_W` (every source acts on the electrons): heat_balance_electrons_rel checks that closure."""
    p = problem
    space = p.unknowns[TEMPERATURE].space
    film = fem.locate_dofs_topological(space, p.msh.topology.dim, p.fm.cell_tags.find(FILM))
    T_l = p.unknowns.values(TEMPERATURE)[film]
    T_e = T_l + p.unknowns.values(EXCESS)[film]

    def film_max(vals: np.ndarray) -> float:
        return p.comm.allreduce(float(vals.max(initial=-np.inf)), op=MPI.MAX)

    exchange = integrate(p, p.exchange_density * p.dx(FILM))
    out = {"T_electron_max_K": film_max(T_e), "T_lattice_max_K": film_max(T_l), "heat_exchange_W": exchange}
    if p.cfg.thermal.electron_sink == "adiabatic":
        out["heat_balance_electrons_rel"] = abs(sources_W - exchange) / max(abs(sources_W), 1e-300)
    return out


def peltier_flux_form(problem: CoupledProblem) -> dict[str, float]:
    """Independent evaluation of the net Peltier heat by its volume ("flux") form.

    With div j = 0, -T j . grad S = S j . grad T - div(T S j), so

        P = integral over the film of S j . grad T  -  integral over the electrodes of T S j . n.

    P is the whole -T j . grad S: the interface (facet) Peltier heat plus, when S depends
    on T, the Thomson heat in the cells; the check compares it with their sum.

    It holds as well with the Seebeck EMF in j (it uses only div j = 0 and the continuity of
    j . n), and it is the interface heat alone: the contact Peltier heat (heat_contact_peltier_W,
    T (S - S_e) j . n on the electrodes) adds to P to give the whole path's
    S j . grad T - T S_e j . n.

    It equals the facet-jump form exactly only when the normal current is continuous
    across facets (solver.current_discretization = "mixed") and the quadrature integrates
    both exactly (S linear in T); with the P1 potential the
    difference measures the non-conservation of avg(j) . n. `peltier_gross_W` is the sum
    of the absolute facet contributions (heating plus cooling; plus |Thomson| over the
    film), the natural scale of that difference when heating and cooling nearly cancel.
    """
    p = problem
    if not float(p.peltier_on.value):
        return {"heat_peltier_flux_form_W": 0.0, "peltier_gross_W": 0.0, "peltier_forms_mismatch_rel": 0.0}
    flux = integrate(p, thermal.peltier_path_form(p.T, p.S, p.j, 1.0, p.n, p.dx(FILM), p.ds(p.contact_tags)))
    gross = p.comm.allreduce(p.interface_integral(abs(p.q_peltier)), op=MPI.SUM)
    peltier = p.comm.allreduce(p.local_power(p.physics.source("peltier")), op=MPI.SUM)
    thomson = next((s for s in p.physics.sources if s.name == "thomson"), None)
    if thomson is not None:
        peltier += integrate(p, thomson.density * p.dx(FILM))
        gross += integrate(p, abs(thomson.density) * p.dx(FILM))
    mismatch = abs(peltier - flux) / gross if gross > 0 else 0.0
    return {"heat_peltier_flux_form_W": flux, "peltier_gross_W": gross, "peltier_forms_mismatch_rel": mismatch}


class StateForms:
    """Compiled integrals of the quantities read at every step of a transient (and once by a run):
    film volume, integral of T over the film, the top surface's area and integral of T, and the
    integral of m over the film."""

    def __init__(self, problem: CoupledProblem):
        p = problem
        g = p.cfg.geometry
        one = fem.Constant(p.msh, 1.0)
        if p.fm.device:  # a user mesh's surface named "top" (if any) and its contacts
            top_ids = tuple(t for t in (p.fm.surfaces.get("top"),) if t is not None) + p.contact_tags
        else:
            top_ids = (TOP,) if g.electrodes == "ends" else (TOP, ELECTRODE_NEG, ELECTRODE_POS)
        top = sum((p.ds(i) for i in top_ids[1:]), p.ds(top_ids[0]))
        self.problem = p
        self.film_T = fem.form(p.T * p.dx(FILM))
        self.film_m = fem.form(p.m * p.dx(FILM))
        self.top_T = fem.form(p.T * top)
        self.volume = self._sum(fem.form(one * p.dx(FILM)))
        self.top_area = self._sum(fem.form(one * top))

    def _sum(self, form: fem.Form) -> float:
        return self.problem.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    def quantities(self) -> dict[str, float]:
        """current_A, voltage_V, T_max_K, T_mean_K (film), T_top_mean_K (top surface incl. the
        patches), metal_fraction (film volume average of m)."""
        p = self.problem
        T_vals = p.unknowns.values(TEMPERATURE)
        return {
            "current_A": p.current(),
            "voltage_V": p.V,
            "T_max_K": p.comm.allreduce(float(T_vals.max(initial=-np.inf)), op=MPI.MAX),
            "T_mean_K": self._sum(self.film_T) / self.volume,
            "T_top_mean_K": self._sum(self.top_T) / self.top_area,
            "metal_fraction": self._sum(self.film_m) / self.volume,
        }


def summary_quantities(problem: CoupledProblem) -> dict:
    """The physical entries of summary.json (README: Exit codes)."""
    p = problem
    cfg = p.cfg
    g = cfg.geometry
    comm = p.comm
    basic = StateForms(p).quantities()

    # metal extent on the top line (all regions together) and in depth (m >= 0.5 means metal)
    line = top_line_points(p)
    m_line = probe(p, p.m, line)
    metal_x = line[m_line >= 0.5, 0]
    x_range = [float(metal_x.min()), float(metal_x.max())] if metal_x.size else None
    tdim = p.msh.topology.dim
    n_own = p.msh.topology.index_map(tdim).size_local
    m_cell = p.m.x.array[p.Q0.dofmap.list[:n_own, 0]]
    zc = p.xc.x.array.reshape(-1, 3)[p.xc.function_space.dofmap.list[:n_own, 0], 2]
    metal = (m_cell >= 0.5) & p.film_mask[:n_own]
    depth = float(g.thickness - zc[metal].min()) if metal.any() else 0.0
    depth = comm.allreduce(depth, op=MPI.MAX)
    band = (m_cell > 1e-3) & (m_cell < 1 - 1e-3) & p.film_mask[:n_own]
    partial = comm.allreduce(int(np.count_nonzero(band)), op=MPI.SUM)

    out = {
        "current_A": basic["current_A"],
        "voltage_V": p.V,
        "source_voltage_V": p.V + (basic["current_A"] + p.drive.capacitor_current(p.V)) * p.R_load,
        "load_resistance_Ohm": p.R_load,
        "T_max_K": basic["T_max_K"],
        "T_mean_K": basic["T_mean_K"],
        "T_top_mean_K": basic["T_top_mean_K"],
        "T0_K": cfg.thermal.t0,
        "T_mit_K": cfg.material.t_mit,
        "metal_fraction": basic["metal_fraction"],
        "partial_cells": partial,
        "metal_top_x_range_m": x_range,
        "metal_max_depth_m": depth,
    }
    # the connected metal regions, the electrodes they touch, the reach from each electrode
    out.update(region_summary(metal_regions(p), g.length))
    if p.fm.device:  # a user mesh: each terminal's current, potential and metal reach
        reach = terminal_reaches(p)
        out["terminals"] = {
            t["name"]: {
                "role": t["role"],
                "current_A": t["current_A"],
                "potential_V": t["potential_V"],
                "metal_reach_m": reach[t["name"]],
            }
            for t in p.terminal_values()
        }
        ref, main = (t.name for t in reference_and_driven(p.terminal_specs))
        # the x-range reaches of a film mesh mean nothing here: those of the two contacts
        out["metal_reach_negative_m"] = reach[ref]
        out["metal_reach_positive_m"] = reach[main]
    out.update(heat_terms(p))
    if p.two_temperatures:  # both temperatures and the heat the electrons give the lattice
        out.update(two_temperature_quantities(p, sum(out[src.summary_key] for src in p.physics.sources)))
    out["interface_facets"] = comm.allreduce(
        int(np.count_nonzero(p.interface_facets < p.msh.topology.index_map(tdim - 1).size_local)), op=MPI.SUM
    )
    return out
