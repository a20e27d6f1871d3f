"""The coupled electro-thermal steady state on one mesh: the parts, composed.

Unknowns: the potential phi, the temperature T and (mixed form) the current j, by
name (fields.py); under current or source control also the electrode voltage V.

    F_e(phi, T) = 0       div(sigma(m) (grad phi + S grad T)) = 0  (electrical.py; S grad T
                          only with thermal.seebeck_emf)
    F_T(phi, T) = 0       -div(kappa grad T) = sum of sources (terms.py: Joule, Peltier)
    I(phi, T)   = I_target(V)                                 (drive.py)

with the material laws of materials.py, the per-cell phase m and its interface of
phase.py, the electrodes and heat sink of bcs.py, Newton's bordered step, line
search and pseudo-transient steps in newton.py, the linear solver of linalg.py and
the continuation of continuation.py (continuation.solve(problem) solves it).
`CoupledProblem` builds the parts and keeps the
few things they share: the phase indicator, the Peltier interface facets and the
compiled forms, which are rebuilt when those facets change.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
import ufl
from dolfinx import fem, geometry
from dolfinx import mesh as dmesh
from petsc4py import PETSc

from . import electrical, nested_preconditioner, thermal
from .device_mesh import with_device_geometry
from .bcs import Electrodes, HeatSink, check_patches, check_surfaces, electron_sink, thermal_conditions
from .config import Config, ResolvedConfig, two_temperature_kappas
from .drive import CURRENT as CURRENT_DRIVE
from .drive import VOLTAGE, Drive, potential_ratio
from .fields import CURRENT, EXCESS, POTENTIAL, TEMPERATURE, Unknowns, field_specs
from .heat_storage import HeatStorage
from .linalg import LinearSolver, default_options, owned_is
from .materials import Materials
from .mesh import FILM, SUBSTRATE, FilmMesh
from .newton import BorderedNewton, NewtonForms, NewtonReport, jacobian_matrix
from .phase import cell_centroids, cell_mean_temperature, jump_facets
from .state import State
from .terminals import FIXED, MAIN, terminal_kind, terminal_specs
from .terms import (
    CONTACT_FACETS,
    FILM_CELLS,
    INTERFACE,
    INTERFACE_FACETS,
    HeatSource,
    Measures,
    Physics,
    Term,
    conduction_terms,
)

QDEG = {"quadrature_degree": 2}
#: relative resolution of the electrode voltage V in the constraint's residual (residual_norm): a
#: current mismatch of tol max(I_scale, V_RESOLUTION |dI_target/dV| |V|) is converged, so with a
#: capacitor on short steps V is solved to about tol V_RESOLUTION |V| (1e-14 |V|, some 50 ulp)
V_RESOLUTION = 1e-4
#: interface facets per compiled form (CoupledProblem.interface_chunks): at most
#: 2 x 13 x 8 B x 2**16 = 14 MB of packed coefficients at a time instead of 0.4 GB for the
#: 1.9M film facets of a 965k-cell mesh while the whole film is in the transition band
#: (2**18, 55 MB, was the peak of a 245k-cell run: a residual assembly 55 MB above resident)
FACET_CHUNK = 2**16
AUTO_ITERATIVE_DOFS = 50_000  # linear_solver = "auto": MUMPS below, bicgstab-gamg from here on


def resolve_linear_solver(kind: str, n_dofs: int) -> str:
    """The solver behind solver.linear_solver: "auto" is exact LU (MUMPS) for small systems,
    where it is both fastest and exact, and the field-split multigrid from AUTO_ITERATIVE_DOFS
    unknowns on (fig2a: equal time per Newton step at 33k unknowns, 1.7x faster at 89k), with
    BiCGStab (bicgstab-gamg): 8 state-sized vectors instead of GMRES's up to 35, the same
    answers and CPU time within 3% on fig2a at 245k and 965k cells (benchmarks/README.md, Memory)."""
    if kind != "auto":
        return kind
    return "mumps" if n_dofs < AUTO_ITERATIVE_DOFS else "bicgstab-gamg"


class CoupledProblem:
    """Forms, unknowns and solvers of one configuration on one mesh."""

    def __init__(self, cfg: Config, fm: FilmMesh, comm: MPI.Comm | None = None):
        self.cfg: ResolvedConfig = cfg.resolved()
        if fm.device:  # the geometry keys of a user mesh: its film's bounding box
            self.cfg = with_device_geometry(self.cfg, fm)
        cfg = self.cfg
        self.fm = fm
        msh = self.msh = fm.mesh
        self.comm = msh.comm
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        msh.topology.create_connectivity(tdim, tdim - 1)
        mat, th, g = cfg.material, cfg.thermal, cfg.geometry

        # --- unknowns by name ---------------------------------------------------------------
        self.mixed = cfg.solver.current_discretization == "mixed"
        # thermal.model = "two": T is the electron temperature, T_l the lattice's (paper Eqs. 5-6)
        self.two_temperatures = th.model == "two"
        self.unknowns = uk = Unknowns(msh, field_specs(cfg.solver.current_discretization, self.two_temperatures))
        self.U, self.u = uk.space, uk.u
        # T_lattice: the temperature field (sink, thermal.boundary, substrate); T: the electrons'
        # (Joule, Peltier, the laws), T_l + theta with two temperatures, else the same field
        self.phi, self.T_lattice = uk[POTENTIAL].symbol, uk[TEMPERATURE].symbol
        self.w_lattice = uk[TEMPERATURE].test
        self.theta = uk[EXCESS].symbol if self.two_temperatures else None
        self.T = self.T_lattice + self.theta if self.theta is not None else self.T_lattice
        # the test function of the electrons' heat equation (the heat sources act on it)
        self.w_test = w = uk[EXCESS].test if self.two_temperatures else self.w_lattice
        self.V_phi, self.map_phi = uk[POTENTIAL].space, uk[POTENTIAL].dofs
        self.V_T, self.map_T = uk[TEMPERATURE].space, uk[TEMPERATURE].dofs
        self.V_J = uk[CURRENT].space if self.mixed else None
        self.map_J = uk.dofs(CURRENT)
        self.map_theta = uk.dofs(EXCESS)  # empty in the one-temperature model
        self.temperature_dofs = np.concatenate([self.map_T, self.map_theta]).astype(np.int32)
        self.Q0 = fem.functionspace(msh, ("DG", 0))

        n_loc = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
        self.film_mask = np.zeros(n_loc, dtype=bool)  # film cells (local incl. ghosts)
        self.film_mask[fm.cell_tags.find(FILM)] = True
        self.has_substrate = g.substrate_thickness > 0

        # --- material laws and the phase -------------------------------------------------
        self.materials = Materials.create(msh, cfg)
        self.law = self.materials.phase
        self.joule_on = fem.Constant(msh, 1.0 if th.joule_heating else 0.0)
        self.peltier_on = fem.Constant(msh, 1.0 if th.peltier_heating else 0.0)
        self.Vc = fem.Constant(msh, 0.0)  # positive-electrode potential in the mixed form (V)
        # pseudo-transient coefficient c (W/(m^3 K)): adds c M_T to the Jacobian only
        self.ptc = fem.Constant(msh, 0.0)
        self.ptc_scale = mat.at("kappa", th.t0) / float(g.thickness) ** 2
        self.xc = cell_centroids(msh)
        # the temperature that switches the phase (material.phase_temperature in the two-temperature model)
        lattice_switches = self.two_temperatures and mat.phase_temperature == "lattice"
        self.T_phase = self.T_lattice if lattice_switches else self.T
        self.m_expr = self.law.metal_fraction(cell_mean_temperature(self.T_phase, self.xc))
        # the laws of T are evaluated at the local temperature (materials.py)
        self.sigma = self.law.sigma(self.m_expr, self.T)
        self.S = self.law.seebeck(self.m_expr, self.T)
        self.kappa = self.materials.film_kappa(self.m_expr, self.T)
        self.m = fem.Function(self.Q0, name="phase")
        self._m_interp = fem.Expression(self.m_expr, self.Q0.element.interpolation_points)

        # --- measures -----------------------------------------------------------------------
        # m, sigma, S are constant per cell, so with P1 unknowns every volume integrand is at
        # most linear (Joule heat times a test function): the 1-point rule is exact there.
        # The RT mass term of the mixed form is quadratic.
        self.dx = ufl.Measure(
            "dx", domain=msh, subdomain_data=fm.cell_tags, metadata=QDEG if self.mixed else {"quadrature_degree": 1}
        )
        self.ds = ufl.Measure("ds", domain=msh, subdomain_data=fm.facet_tags, metadata=QDEG)
        self.n = ufl.FacetNormal(msh)
        self.contact_tags = tuple(fm.electrodes.values())  # every electrode contact's facet tag
        self.measures = Measures(self.dx, self.ds, self.ds, self.n, self.contact_tags)  # dS set by _build_forms

        # --- boundary conditions ------------------------------------------------------------
        self.terminal_specs = terminal_specs(cfg, fm)
        self.electrodes = Electrodes.create(uk, fm, self.has_substrate, self.terminal_specs)
        # thermal surface conditions: temperature surfaces are the sink's dofs, convection
        # and flux surfaces residual terms (bcs.py); heat_boundary_forms: heat leaving (W)
        self.thermal_conditions = thermal_conditions(cfg, fm.surfaces)
        check_surfaces(cfg, fm, self.comm)
        self.sink = HeatSink.on_surfaces(uk, fm.facet_tags, self.thermal_conditions, th.t0)
        self.electron_sink: HeatSink | None = None
        if self.two_temperatures:
            self.electron_sink = electron_sink(
                uk, fm, self.thermal_conditions, th.t0, at_sink=th.electron_sink == "lattice"
            )
            self.sink.absorb(self.electron_sink)  # the heat the electrons give the sink counts too
        boundary_terms: list[Term] = []
        self.heat_boundary_forms: dict[str, ufl.Form] = {}
        for c in self.thermal_conditions:
            if c.type == "convection":
                h, t_amb = fem.Constant(msh, c.value), fem.Constant(msh, c.t_ambient)
                form = thermal.robin_form(self.T_lattice, self.w_lattice, h, t_amb, self.ds(c.tag))
                self.heat_boundary_forms[c.surface] = h * (self.T_lattice - t_amb) * self.ds(c.tag)
            elif c.type == "flux":
                q = fem.Constant(msh, c.value)
                form = thermal.flux_form(self.w_lattice, q, self.ds(c.tag))
                self.heat_boundary_forms[c.surface] = -q * self.ds(c.tag)
            else:
                continue
            boundary_terms.append(Term(f"heat_boundary_{c.surface}", "thermal", form))
        check_patches(
            self.electrodes,
            self.sink,
            self.comm,
            has_robin=any(c.type == "convection" for c in self.thermal_conditions),
        )
        # Kapitza resistance between film and substrate: a thin layer (thermal.interface_resistance)
        kappa_sub = self.materials.kappa_substrate
        if th.interface_resistance > 0 and self.has_substrate:
            chi_layer, depth = thermal.interface_layer(msh, fm.cell_tags, SUBSTRATE)
            R = fem.Constant(msh, float(th.interface_resistance))
            kappa_sub = thermal.with_interface_resistance(kappa_sub, R, chi_layer, fem.Constant(msh, depth))
            self.kapitza_layer_m = depth
            if depth > 0.25 * g.substrate_thickness:
                logging.getLogger("fem_peltier").warning(
                    "thermal.interface_resistance: the substrate cells at the interface reach %.3g m deep (%.0f%% "
                    "of the substrate), so the layer carrying R also lowers the substrate's lateral conduction "
                    "there: use a generated mesh (it has a thin slab under the film) or write the .msh with the "
                    "resistance set (docs/physics.md)",
                    depth,
                    100 * depth / g.substrate_thickness,
                )

        self.kappa_substrate = kappa_sub  # with the Kapitza layer folded in
        # --- the physics terms ----------------------------------------------------------------
        dxf = self.dx(FILM)
        # Seebeck EMF (thermal.seebeck_emf): j = -sigma (grad phi + S grad T); None = the paper's j
        self.emf = self.S * ufl.grad(self.T) if th.seebeck_emf else None
        self.main_tag = next(t.tag for t in self.terminal_specs if t.role == MAIN)
        # potentials of the other contacts as constants of the mixed form (V); the values live in
        # self.electrodes (fixed_V, aux_V), these follow them (_sync_contacts)
        self.fixed_constants = [fem.Constant(msh, 0.0) for _ in self.electrodes.fixed_specs]
        self.aux_constants = [fem.Constant(msh, 0.0) for _ in self.electrodes.aux_specs]
        self._sync_contacts()
        contacts = [
            (c, self.ds(t.tag)) for c, t in zip(self.fixed_constants, self.electrodes.fixed_specs) if t.voltage_V != 0.0
        ] + [(c, self.ds(t.tag)) for c, t in zip(self.aux_constants, self.electrodes.aux_specs)]
        if self.mixed:
            cur = uk[CURRENT]
            el = electrical.mixed_form(
                self.phi,
                cur.symbol,
                uk[POTENTIAL].test,
                cur.test,
                self.sigma,
                self.Vc,
                self.n,
                dxf,
                self.ds(self.main_tag),
                self.emf,
                contacts,
            )
        else:
            el = electrical.p1_form(
                self.phi, uk[POTENTIAL].test, self.sigma, dxf, ufl.split(self.electrodes.indicator)[0], self.emf
            )
        self.electrical = el
        # current into the film through each aux contact (A)
        self.aux_current_ufl = [
            self._contact_current_ufl(t.tag, chi)
            for t, chi in zip(self.electrodes.aux_specs, self.electrodes.aux_indicators)
        ]
        self.j = el.current_density
        self.joule_expr = el.joule_density
        self.q_peltier = self.peltier_on * thermal.peltier_facet_density(self.T, self.S, self.j, self.n)
        dS_dT = self.law.seebeck_slope(self.m_expr, self.T)
        # the film measure of the Seebeck terms tested with w: with S(T) their integrands are cubic
        # (linear S, T, w, j), so one degree more makes the volume form exact for a linear law
        dx_s = self.dx(FILM) if dS_dT is None else self.dx(FILM, metadata={"quadrature_degree": 3})
        sources = [
            HeatSource("joule", self.joule_on * self.joule_expr, self.joule_on, FILM_CELLS, "joule_heat_W_m3"),
            HeatSource(
                "peltier",
                self.q_peltier,
                self.peltier_on,
                INTERFACE_FACETS,
                "peltier_heat_W_m2",
                self._peltier_volume_form(dS_dT, dx_s) if self.mixed else None,
            ),
        ]
        # Peltier heat at the film/electrode contacts (material.seebeck_electrode; absent = none)
        self.S_electrode: fem.Constant | None = None
        if mat.seebeck_electrode is not None:
            self.S_electrode = fem.Constant(msh, float(mat.seebeck_electrode))
            contact_on = fem.Constant(msh, 1.0)
            q_contact = contact_on * thermal.contact_peltier_density(self.T, self.S, self.S_electrode, self.j, self.n)
            sources.append(
                HeatSource("contact_peltier", q_contact, contact_on, CONTACT_FACETS, "contact_peltier_heat_W_m2")
            )
        self.physics = Physics(
            [
                Term("electrical_conduction", "electrical", el.residual),
                *self._conduction(kappa_sub),
                *boundary_terms,
            ],
            sources,
            w,
        )
        # Thomson heat, the volume part of -T j . grad S when S depends on T (switched with Peltier)
        if dS_dT is not None:
            q_thomson = self.peltier_on * thermal.thomson_density(self.T, dS_dT, self.j)
            # mixed: tested on the Peltier volume form's measure, so that their T (dS/dT) j . grad T
            # parts cancel exactly in the residual, which then holds the path form alone
            tested = (lambda w: q_thomson * w * dx_s) if self.mixed else None
            self.physics.sources.append(
                HeatSource("thomson", q_thomson, self.peltier_on, FILM_CELLS, "thomson_heat_W_m3", tested)
            )

        # --- drive ------------------------------------------------------------------------------
        self.R_ref = mat.at("rho_insulator", th.t0) * g.length / (g.width * g.thickness)  # crude scale (Ohm)
        self.drive = Drive.from_config(cfg.drive, self.R_ref)
        self._V = 0.0
        self.V = self.drive.initial_voltage(self.R_ref)
        self.Q_scale = mat.at("kappa", th.t0) * g.length * (mat.t_mit - th.t0)

        # --- initial state: T = T0, potential rising linearly in x from 0 to V --------------
        self.u.x.array[self.map_T] = th.t0
        length, V0 = g.length, self.V
        if not fm.device:  # a user mesh starts from phi = 0 between its contacts
            uk.interpolate(POTENTIAL, lambda x: V0 * x[0] / length)
        self.electrodes.impose(self.u.x.array, self.V)
        self.impose_sinks(self.u.x.array)
        self.u.x.scatter_forward()

        # --- linear algebra, built once ---------------------------------------------------------
        self._du = ufl.TrialFunction(self.U)
        self.n_dofs = uk.n_global
        self.linear_solver = resolve_linear_solver(cfg.solver.linear_solver, self.n_dofs)
        bulk = self.physics.residual(self.measures, interface=False)
        # the cell potential of the mixed current meets the temperature in no term: its rows and
        # columns leave out the other's (15% of the pattern, and of the field-split copies)
        uncoupled = (self.map_phi, self.map_T) if self.mixed else None
        A = jacobian_matrix(ufl.derivative(bulk, self.u, self._du), self.comm, uncoupled)
        electric = np.concatenate([self.map_phi, self.map_J])
        splits = [("e", owned_is(self.U, electric))]
        if self.two_temperatures:  # the electrons' excess first, then the lattice (linalg.py)
            splits.append(("x", owned_is(self.U, self.map_theta)))
        splits.append(("T", owned_is(self.U, self.map_T)))
        # the field split's blocks by reference (nested_preconditioner.py), unless the user's
        # options change that preconditioner's structure
        nested = nested_preconditioner.serves(self.linear_solver, self.mixed, cfg.solver.petsc_options)
        P = (
            nested_preconditioner.NestedPreconditioner(
                A, splits, owned_is(self.U, self.map_J), owned_is(self.U, self.map_phi)
            )
            if nested
            else None
        )
        solver = LinearSolver(
            A,
            self.comm,
            default_options(self.linear_solver, self.mixed, self.two_temperatures, nested),
            splits=splits,
            user_options=cfg.solver.petsc_options,
            preconditioner=P,
        )
        self.newton_solver = BorderedNewton(self, A, solver)
        self.interface_facets = np.zeros(0, dtype=np.int32)
        self._build_forms(np.zeros(0, dtype=np.int32))
        self.update_phase()

        self.n_cells = msh.topology.index_map(tdim).size_global
        self.initial_state = self.save_state()
        # converged states at the final band width, newest last: the warm-start predictor's memory
        self.branch: list[State] = []
        self.ptc_restarts = 0  # band levels (re)started with pseudo-transient continuation
        self._cell_tree: geometry.BoundingBoxTree | None = None
        # the transient's storage term c dT/dt + L dm/dt (heat_storage.HeatStorage.attach); None: steady
        self.storage: HeatStorage | None = None

    def _conduction(self, kappa_sub) -> list[Term]:
        """Heat conduction; with two temperatures (paper Eqs. 5-6) the electrons conduct with
        kappa_e in the film, the lattice with kappa_l (film) and the substrate's kappa, and
        the exchange gamma_el (T - T_l) (w - w_l) over the film moves heat between them."""
        if not self.two_temperatures:
            return conduction_terms(self.T, self.w_test, self.kappa, kappa_sub, self.dx, self.has_substrate)
        mat = self.cfg.material
        ke, kl = two_temperature_kappas(mat)
        self.kappa_electron = self.materials.law(ke, self.T)
        self.kappa_lattice = self.materials.law(kl, self.T_lattice)
        assert mat.electron_lattice_coupling is not None
        self.gamma_el = fem.Constant(self.msh, float(mat.electron_lattice_coupling))
        assert self.theta is not None
        self.exchange_density = self.gamma_el * self.theta  # gamma_el (T - T_l), W/m^3, electrons -> lattice
        dxf = self.dx(FILM)
        return [
            Term(
                "heat_conduction_electrons",
                "thermal",
                thermal.conduction(self.T, self.w_test, self.kappa_electron, dxf),
            ),
            *conduction_terms(
                self.T_lattice, self.w_lattice, self.kappa_lattice, kappa_sub, self.dx, self.has_substrate
            ),
            Term("electron_lattice_exchange", "thermal", self.exchange_density * (self.w_test - self.w_lattice) * dxf),
        ]

    def cell_tree(self) -> geometry.BoundingBoxTree:
        """Bounding-box tree of the cells (for point evaluation), built once on first use."""
        if self._cell_tree is None:
            self._cell_tree = geometry.bb_tree(self.msh, self.msh.topology.dim)
        return self._cell_tree

    # --- views of the parts that other modules read --------------------------------------------
    @property
    def ksp_iterations(self) -> list[int]:
        """Linear iterations of every solve so far (for summary.json)."""
        return self.newton_solver.ksp_iterations

    @property
    def bcs(self) -> list:
        """Every (homogeneous) Dirichlet condition of the Newton corrections."""
        extra = [self.electron_sink.bc] if self.electron_sink is not None else []
        return self.electrodes.bcs + [self.sink.bc] + extra

    @property
    def chi(self) -> fem.Function:
        return self.electrodes.indicator

    @property
    def dofs_pos(self) -> np.ndarray:
        return self.electrodes.pos_dofs

    @property
    def controls_current(self) -> bool:
        return self.drive.controls_current

    @property
    def R_load(self) -> float:
        return self.drive.load_resistance_Ohm

    def _peltier_volume_form(self, dS_dT, dxf: ufl.Measure) -> Callable[[Any], ufl.Form]:
        """w -> the interface Peltier heat tested with w as a volume form (mixed current only):

            sum over interior film facets of T w jump(S, n) . j
              = integral of (S j . grad(T w) + T w (dS/dT) j . grad T) dx - contacts' S T w j . n

        by the divergence theorem in each cell, exact for div j = 0 and continuous j . n, which
        the Raviart-Thomas current satisfies (integrands of degree 2 with constant S, exact with
        QDEG; `dxf` the film measure, of degree 3 when S depends on T). The Jacobian then has
        no interior-facet integrals and the forms need no recompiling when the phase boundary
        moves (docs/physics.md)."""
        ds_contacts = self.ds(self.contact_tags, metadata=dxf.metadata())

        def tested(w) -> ufl.Form:
            form = thermal.peltier_path_form(self.T, self.S, self.j, w, self.n, dxf, ds_contacts)
            if dS_dT is not None:  # the path form holds -T j . grad S whole: give the Thomson part back
                form = form + self.T * w * dS_dT * ufl.dot(self.j, ufl.grad(self.T)) * dxf
            return self.peltier_on * form

        return tested

    # --- forms ------------------------------------------------------------------------------------
    def _build_forms(self, facets: np.ndarray) -> None:
        """(Re)compile the residual/Jacobian forms with Peltier facets `facets` (local, sorted).

        The interface integrals are split into chunks of at most FACET_CHUNK facets
        (`interface_chunks`): the first chunk is in the main forms (F_form, J_form), each
        further one in a form of its own (F_parts, J_parts) that the same assembly adds.
        With at most FACET_CHUNK facets on every rank there is one chunk and no part.
        `dS` and `F_ufl` keep all the facets (UFL expressions of diagnostics and checks). With
        the mixed current the residual has no facet integrals (`_peltier_volume_form`): the
        forms are compiled once, `interface_facets` only follows the phase boundary (for the
        diagnostics, output fields and error indicator, which integrate over it on demand).
        """
        msh = self.msh
        facets = np.asarray(np.sort(facets), dtype=np.int32)
        self.interface_facets = facets
        if not self.physics.on_facets:  # the forms do not depend on the facets (the mixed current)
            facets = np.zeros(0, dtype=np.int32)
        self.dS = self._interface_measure(facets)
        self.measures.dS = self.dS
        self.F_ufl = self.physics.residual(self.measures)
        chunks = self._chunk_measures(facets)
        F = self.physics.residual(chunks[0])
        self.F_form = fem.form(F)
        parts = [self.physics.interface_residual(m) for m in chunks[1:]]
        self.F_parts = [fem.form(part) for part in parts]
        du = ufl.split(self._du)
        dT = du[self.unknowns[TEMPERATURE].index]
        dx_ptc = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 1})  # vertex-lumped-like
        J = ufl.derivative(F, self.u, self._du)
        self.J_form = fem.form(J)
        self.J_parts = [fem.form(ufl.derivative(part, self.u, self._du)) for part in parts]
        # with the pseudo-transient term c M_T: compiled only when such steps are taken
        self._J_ptc_ufl = J + self.ptc * dT * self.w_lattice * dx_ptc
        if self.two_temperatures:
            dtheta = du[self.unknowns[EXCESS].index]
            self._J_ptc_ufl = self._J_ptc_ufl + self.ptc * dtheta * self.w_test * dx_ptc
        self._J_ptc_form: fem.Form | None = None
        el = self.electrical
        dF_dV = el.voltage_derivative if el.voltage_derivative is not None else ufl.derivative(F, self.u, self.chi)
        self.b_form = fem.form(dF_dV)
        self.c_form = fem.form(ufl.derivative(el.current, self.u, ufl.TestFunction(self.U)))
        self.I_form = fem.form(el.current)
        self.aux_forms = [
            (
                fem.form(self._aux_voltage_derivative(k, F)),
                fem.form(ufl.derivative(I_k, self.u, ufl.TestFunction(self.U))),
                fem.form(I_k),
            )
            for k, I_k in enumerate(self.aux_current_ufl)
        ]

    def _aux_voltage_derivative(self, k: int, F: ufl.Form) -> ufl.Form:
        """dF/dV_k of the k-th aux contact: its natural term (mixed) or F along its lift (P1)."""
        if self.mixed:
            tag = self.electrodes.aux_specs[k].tag
            return ufl.dot(self.unknowns[CURRENT].test, self.n) * self.ds(tag)
        return ufl.derivative(F, self.u, self.electrodes.aux_indicators[k])

    def _interface_measure(self, facets: np.ndarray) -> ufl.Measure:
        """The interior-facet measure whose subdomain INTERFACE is `facets` (local, sorted)."""
        msh = self.msh
        tags = dmesh.meshtags(msh, msh.topology.dim - 1, facets, np.full(facets.size, INTERFACE, dtype=np.int32))
        return ufl.Measure("dS", domain=msh, subdomain_data=tags, metadata=QDEG)

    def interface_chunks(self, facets: np.ndarray) -> list[np.ndarray]:
        """`facets` in consecutive chunks of at most FACET_CHUNK, as many chunks on every rank
        (some may be empty): DOLFINx packs the coefficients of all of a form's facets at each
        assembly (2 x 13 values per facet), so one form per chunk bounds that transient."""
        n = self.comm.allreduce(max(1, -(-facets.size // FACET_CHUNK)), op=MPI.MAX)
        return [facets[k * FACET_CHUNK : (k + 1) * FACET_CHUNK] for k in range(n)]

    def _chunk_measures(self, facets: np.ndarray) -> list[Measures]:
        """The problem's measures once per chunk of the interface `facets` (`interface_chunks`),
        dS over that chunk's facets."""
        return [replace(self.measures, dS=self._interface_measure(c)) for c in self.interface_chunks(facets)]

    def interface_measures(self) -> list[ufl.Measure]:
        """The interface facets' measure dS(INTERFACE) in chunks (`interface_chunks`): a form
        over the interface assembled chunk by chunk packs one chunk's coefficients at a time."""
        return [self._interface_measure(c)(INTERFACE) for c in self.interface_chunks(self.interface_facets)]

    def interface_integral(self, density: ufl.core.expr.Expr) -> float:
        """Integral of a facet density over the interface facets on this rank, chunk by chunk."""
        return sum(fem.assemble_scalar(fem.form(density * dS)) for dS in self.interface_measures())

    def local_power(self, src: HeatSource) -> float:
        """The heat released by a source on this rank (W): integral of its density where it acts."""
        if src.where == INTERFACE_FACETS:
            # compiled at each call, chunk by chunk: kept, these forms held the interface's
            # facet list once more (28 MB at 965k cells) for a diagnostic
            return sum(fem.assemble_scalar(fem.form(src.power(m))) for m in self._chunk_measures(self.interface_facets))
        return fem.assemble_scalar(fem.form(src.power(self.measures)))

    def _jacobian_form(self) -> fem.Form:
        """dF/du, plus c M_T while pseudo-transient steps are taken (c > 0).

        The c M_T term is one more cell integral over every cell, a quarter of the
        volume assembly time, so the plain Newton steps leave it out.
        """
        if float(self.ptc.value) == 0.0:
            return self.J_form
        if self._J_ptc_form is None:
            self._J_ptc_form = fem.form(self._J_ptc_ufl)
        return self._J_ptc_form

    # --- what Newton asks of the problem (newton.BorderedProblem) ------------------------------
    def newton_forms(self) -> NewtonForms:
        return NewtonForms(self.F_form, self._jacobian_form(), self.b_form, self.c_form, self.F_parts, self.J_parts)

    def voltage_lift(self) -> fem.Function:
        """d u / d V of the Dirichlet data: 1 on the positive patch's potential dofs (P1 form)."""
        return self.electrodes.indicator

    def target_current(self) -> tuple[float, float]:
        """(I_target, dI_target/dV) of the bordered constraint I(u) = I_target(V)."""
        return self.drive.target_current(self.V)

    def set_pseudo_time(self, c: float) -> None:
        self.ptc.value = c

    def residual_norm(self, F: PETSc.Vec, current: float) -> float:
        """Scaled residual norm over the free dofs and the drive's constraint:

            current or source control:  |F_phi|^2 / I_s^2 + |F_T|^2 / Q_s^2 + ((I - I_t) / I_s)^2
            voltage control:            |F_phi|^2 / I_s^2 + |F_j|^2 / V_s^2 + |F_T|^2 / Q_s^2

        F_phi: current balance (A); F_T: heat balance (W); F_j: the mixed form's Ohm's-law
        rows rho j + grad phi (V; V_s = I_s R_ref). Under voltage control nothing else ties
        the current to the voltage: without F_j the start (j = 0, phi linear, T = T0) has a
        zero residual and passes for a solution. Under current control the constraint does
        that, and the Ohm's-law rows converge with the Newton steps (the step counts and
        answers of the current-driven cases stay as they were). With a capacitor on a short
        step the constraint's I_s becomes max(I_s, V_RESOLUTION |dI_t/dV| |V|) (V_RESOLUTION)."""
        arr = F.array_r
        n_own = arr.size
        T_rows = self.temperature_dofs
        rows = (self.map_phi, T_rows) if self.controls_current else (self.map_phi, T_rows, self.map_J)
        sums = [0.0, 0.0, 0.0]
        for i, dofs in enumerate(rows):
            own = dofs[dofs < n_own]
            sums[i] = float(np.dot(arr[own], arr[own]))
        se, sT, sJ = self.comm.allreduce(np.array(sums), op=MPI.SUM)
        I_scale = self.drive.current_scale_A
        r2 = se / I_scale**2 + sT / self.Q_scale**2
        if self.aux_count:  # the aux contacts' constraints I_k = I_target_k
            r2 += float(np.sum(((self.aux_currents() - self.aux_targets()) / I_scale) ** 2))
        if self.controls_current:
            I_target, dI_dV = self.target_current()
            # a capacitor makes |dI_target/dV| = C a0 huge on short steps (C/h): one ulp of V then
            # moves the mismatch by more than tol I_scale, so it is measured against the change a
            # relative error V_RESOLUTION of V makes when that is larger
            r2 += ((current - I_target) / max(I_scale, V_RESOLUTION * abs(dI_dV * self.V))) ** 2
        else:
            r2 += sJ / (I_scale * self.R_ref) ** 2
        return math.sqrt(r2)

    def phase_snapshot(self) -> np.ndarray:
        return self.m.x.array.copy()

    def phase_change(self, m_ref: np.ndarray) -> float:
        """max |m - m_ref| over the owned cells of all ranks."""
        n_own = self.Q0.dofmap.index_map.size_local
        dm = float(np.max(np.abs(self.m.x.array[:n_own] - m_ref[:n_own]), initial=0.0))
        return self.comm.allreduce(dm, op=MPI.MAX)

    def update_phase(self) -> None:
        """Interpolate m(T_c) into the DG0 phase indicator, re-tag interface facets."""
        self.m.interpolate(self._m_interp)
        self.m.x.scatter_forward()
        facets = jump_facets(self.m, self.film_mask)
        if not self.physics.on_facets:  # the residual's Peltier heat is a volume form: no recompiling
            self.interface_facets = facets
            return
        same = facets.size == self.interface_facets.size and np.array_equal(facets, self.interface_facets)
        if not self.comm.allreduce(int(same), op=MPI.MIN):
            self._build_forms(facets)

    def unphysical(self) -> str | None:
        """None if T is finite, > 0 and below solver.t_ceiling everywhere, else what is wrong (collective)."""
        T = self.temperatures()
        finite = np.isfinite(T)
        t_min = self.comm.allreduce(float(T[finite].min(initial=np.inf)), op=MPI.MIN)
        t_max = self.comm.allreduce(float(T[finite].max(initial=-np.inf)), op=MPI.MAX)
        if not self.comm.allreduce(int(finite.all()), op=MPI.MIN):
            return "non-finite temperature"
        if t_min <= 0:
            return f"unphysical temperature: T_min = {t_min:.4g} K <= 0"
        ceiling = self.cfg.solver.t_ceiling
        if t_max >= ceiling:
            return f"runaway: T_max = {t_max:.4g} K above solver.t_ceiling = {ceiling:.4g} K"
        return None

    # --- Newton ----------------------------------------------------------------------------------
    def merit(self) -> tuple[float, float]:
        """Scaled residual norm over free dofs (and the current mismatch). Returns (merit, I)."""
        return self.newton_solver.merit()

    def newton(
        self,
        max_steps: int,
        tol: float,
        phase_tol: float,
        t_rtol: float,
        pseudo_transient: bool = False,
        keep_preconditioner: bool = False,
    ) -> NewtonReport:
        """Damped Newton on the current band width (newton.BorderedNewton.solve)."""
        return self.newton_solver.solve(max_steps, tol, phase_tol, t_rtol, pseudo_transient, keep_preconditioner)

    def destroy(self) -> None:
        """Free the PETSc objects now (a problem whose state has been carried elsewhere)."""
        self.newton_solver.destroy()

    # --- parameters ------------------------------------------------------------------------------
    def set_width(self, w: float) -> None:
        self.law.width.value = float(w)

    def prescribe_phase(self, metal_cells: np.ndarray) -> None:
        """Freeze the phase: m = 1 in `metal_cells` (bool mask over local cells), m = 0 elsewhere.

        Moves each cell's band centre far away (+-1e12 K) so that the smoothed rule
        saturates exactly; for validation against closed forms with a known interface.
        """
        self.law.centre.x.array[:] = np.where(metal_cells[: self.law.centre.x.array.size], -1e12, 1e12)
        self.law.centre.x.scatter_forward()
        self.update_phase()

    def impose_sinks(self, u: np.ndarray) -> None:
        """Put the held temperatures (the sink's, and the electrons' of two temperatures) on a state array."""
        self.sink.impose(u)
        if self.electron_sink is not None:
            self.electron_sink.impose(u)

    def set_heat_sink_dofs(self, dofs: np.ndarray) -> None:
        """Hold T = T0 on these temperature dofs (state numbering) instead of the SINK facets."""
        self.sink = HeatSink.at_dofs(self.unknowns, dofs, self.cfg.thermal.t0)
        self.sink.impose(self.u.x.array)

    @property
    def V(self) -> float:
        """Voltage of the positive electrode (V); the negative one is at 0 V."""
        return self._V

    @V.setter
    def V(self, value: float) -> None:
        self._V = float(value)
        self.Vc.value = self._V

    def _scale_potential(self, ratio: float) -> None:
        """Scale phi, j and V (and the other contacts' potentials) by `ratio`: exact for a fixed
        phase pattern, a good warm start otherwise."""
        self.u.x.array[self.map_phi] *= ratio
        self.u.x.array[self.map_J] *= ratio
        self.V *= ratio
        self.electrodes.fixed_V *= ratio
        self.electrodes.aux_V *= ratio
        self._sync_contacts()

    # --- the other contacts (terminals.py) -----------------------------------------------------
    def _sync_contacts(self) -> None:
        """The mixed form's contact constants from the potentials in self.electrodes."""
        for c, v in zip(self.fixed_constants, self.electrodes.fixed_V):
            c.value = float(v)
        for c, v in zip(self.aux_constants, self.electrodes.aux_V):
            c.value = float(v)

    @property
    def aux_count(self) -> int:
        """Number of aux contacts (current terminals and floating probes besides the drive)."""
        return len(self.aux_constants)

    @property
    def aux_V(self) -> np.ndarray:
        """Potentials of the aux contacts (V), the bordered unknowns besides V."""
        return self.electrodes.aux_V.copy()

    @aux_V.setter
    def aux_V(self, values: np.ndarray) -> None:
        self.electrodes.aux_V[:] = values
        self._sync_contacts()

    def drive_scale(self) -> float:
        """The present drive as a share of the configured one (continuation): the other
        contacts' configured currents and potentials scale with it."""
        d = self.drive
        return d.value / d.configured if d.configured != 0.0 else 1.0

    def aux_targets(self) -> np.ndarray:
        """I_k targets of the aux contacts (A): configured current x drive scale (0: probes)."""
        s = self.drive_scale()
        return np.array([t.current_A * s for t in self.electrodes.aux_specs])

    def aux_currents(self) -> np.ndarray:
        """Current into the film through each aux contact (A)."""
        local = np.array([fem.assemble_scalar(f[2]) for f in self.aux_forms])
        return self.comm.allreduce(local, op=MPI.SUM) if local.size else local

    def aux_lift(self, k: int) -> fem.Function | None:
        """d u / d V_k of the Dirichlet data (P1: 1 on the k-th aux contact's dofs); None (mixed)."""
        return None if self.mixed else self.electrodes.aux_indicators[k]

    def terminal_values(self) -> list[dict[str, Any]]:
        """Each terminal's name, role ("drive", "voltage", "current" or "floating"), current into
        the film (A) and potential (V)."""
        out = []
        fixed = iter(self.electrodes.fixed_V)
        aux = iter(self.electrodes.aux_V)
        for t in self.terminal_specs:
            V = self.V if t.role == MAIN else float(next(fixed) if t.role == FIXED else next(aux))
            out.append(
                {
                    "name": t.name,
                    "role": "drive" if t.role == MAIN else terminal_kind(t),
                    "current_A": self.contact_current(t.tag),
                    "potential_V": float(V),
                }
            )
        return out

    def contact_current(self, tag: int) -> float:
        """Current into the film through the contact with facet tag `tag` (A)."""
        form = fem.form(self._contact_current_ufl(tag))
        return self.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    def _contact_current_ufl(self, tag: int, lift: fem.Function | None = None) -> ufl.Form:
        """The current into the film through the contact tagged `tag`: the flux -j . n of the
        mixed current, or the reaction of the potential equation at the contact's dofs, tested
        with `lift` (1 on those dofs; made here when not given) in the P1 form."""
        if self.mixed:
            return -ufl.dot(self.unknowns[CURRENT].symbol, self.n) * self.ds(tag)
        if lift is None:
            lift = fem.Function(self.unknowns.space)
            lift.x.array[electrical.electrode_dofs(self.unknowns[POTENTIAL].subspace, self.fm.facet_tags, tag)] = 1.0
        return electrical.residual(self.phi, ufl.split(lift)[0], self.sigma, self.dx(FILM), self.emf)

    def set_drive_scale(self, scale: float) -> None:
        """Scale the configured drive (current, voltage or source voltage) by `scale` (continuation)."""
        self.set_drive_value(self.drive.configured * scale)

    def set_drive_value(self, value: float) -> None:
        """Set the present drive (A or V), scaling phi, j and V by value / old value (the
        scaling predictor: exact for a fixed phase pattern and temperature)."""
        d = self.drive
        self._scale_potential(potential_ratio(value, self.V if d.mode == VOLTAGE else d.value))
        d.value = float(value)
        if d.mode == VOLTAGE:
            self.V = d.value
            self.u.x.array[self.dofs_pos] = self.V

    def reset_to_initial(self) -> None:
        """Back to the initial (cold) state of the problem, at the present drive."""
        value = self.drive.value
        self.restore_state(self.initial_state)  # also restores the initial drive value
        self.set_drive_value(value)

    def set_drive(self, cfg: Config) -> None:
        """Take a new drive from `cfg`, keeping the present state (warm start for sweeps).

        A new current scales phi and V by the ratio of the currents; a new voltage is put
        on the positive electrode; a new source voltage leaves the state as it is.
        """
        d = cfg.drive  # no derived values in [drive]
        self.cfg = self.cfg.model_copy(update={"drive": d})
        old, new = self.drive, Drive.from_config(d, self.R_ref)
        if new.mode == old.mode == CURRENT_DRIVE:
            self._scale_potential(potential_ratio(new.value, old.value))
        self.drive = new
        if new.mode == VOLTAGE:
            self.V = new.value
        self.u.x.array[self.dofs_pos] = self.V

    # --- assembly helpers ------------------------------------------------------------------------
    def current(self) -> float:
        """Total current entering at the positive electrode (A), by the reaction method."""
        return self.comm.allreduce(fem.assemble_scalar(self.I_form), op=MPI.SUM)

    def temperatures(self) -> np.ndarray:
        """Every temperature dof's value (K): T; T_l and T_e = T_l + theta with two temperatures."""
        T = self.u.x.array[self.map_T]
        if not self.two_temperatures:
            return T
        return np.concatenate([T, T + self.u.x.array[self.map_theta]])

    # --- state handling ------------------------------------------------------------------------
    def save_state(self) -> State:
        """Everything a failed attempt may change (state.State)."""
        return State(
            self.u.x.array.copy(),
            self.V,
            self.law.centre.x.array.copy(),
            self.m.x.array.copy(),
            self.drive.value,
            self.electrodes.fixed_V.copy(),
            self.electrodes.aux_V.copy(),
        )

    def restore_state(self, state: State) -> None:
        """Go back to a saved state (its drive too, unless it has none)."""
        if state.drive_value is not None:
            self.drive.value = state.drive_value
        self.u.x.array[:] = state.u
        self.V = state.V
        if state.fixed_V is not None:
            self.electrodes.fixed_V[:] = state.fixed_V
        if state.aux_V is not None:
            self.electrodes.aux_V[:] = state.aux_V
        self._sync_contacts()
        self.law.centre.x.array[:] = state.band_centre_K
        self.m.x.array[:] = state.phase
        self.update_phase()


__all__ = ["INTERFACE", "CoupledProblem", "resolve_linear_solver"]
