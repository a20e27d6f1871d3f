"""The coupled electro-thermal steady state with a per-cell phase indicator.

Unknowns: the potential phi (P1, film), the temperature T (P1, film and
substrate) and, under current control, the electrode voltage V. One Newton
step linearises

    F_e(phi, T) = 0                      div(sigma(m) grad phi) = 0
    F_T(phi, T) = 0                      -div(kappa grad T) = rho|j|^2 + Peltier
    I(phi, T)   = I_drive                total current (reaction at the + electrode)

with the exact Jacobian (ufl.derivative) and eliminates the scalar V by a
bordered solve: two linear solves with one matrix (model.md section 2), by LU
(MUMPS) or by GMRES with a field-split AMG preconditioner (inexact Newton). A
backtracking line search on a scaled residual rejects unphysical states; a
stagnating level restarts with pseudo-transient continuation.

The outer (Picard) loop drives the continuation in the band width w from wide
to narrow, updates the DG0 phase indicator and re-tags the phase-boundary
facets that carry the Peltier integral after every Newton step, and, with
hysteresis, updates each cell's band centre from its phase until the pattern
is stable.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import basix.ufl
import dolfinx.fem.petsc as fpetsc
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from dolfinx.cpp.la import petsc as la_petsc_cpp
from petsc4py import PETSc

from . import electrical, thermal
from .config import Config
from .errors import SolverError
from .mesh import ELECTRODE_NEG, ELECTRODE_POS, FILM, OTHER, SINK, SUBSTRATE, TOP, FilmMesh
from .phase import PhaseLaw, cell_centroids, cell_mean_temperature, jump_facets, update_centre

log = logging.getLogger("fem_peltier")

QDEG = {"quadrature_degree": 2}
INTERFACE = 1  # tag of the phase-boundary facets in the interface MeshTags


AUTO_ITERATIVE_DOFS = 50_000  # linear_solver = "auto": MUMPS below, gmres-gamg from here on
EW_ETA_MAX = 1e-4  # loosest linear tolerance of inexact Newton
Z_RTOL = 1e-6  # linear tolerance of the voltage-response solve of the bordered system


def resolve_linear_solver(kind: str, n_dofs: int) -> str:
    """The solver behind solver.linear_solver: "auto" is exact LU (MUMPS) for small systems,
    where it is both fastest and exact, and gmres-gamg from AUTO_ITERATIVE_DOFS unknowns on
    (fig2a: equal time per Newton step at 33k unknowns, 1.7x faster at 89k)."""
    if kind != "auto":
        return kind
    return "mumps" if n_dofs < AUTO_ITERATIVE_DOFS else "gmres-gamg"


def forcing_term(merit: float, merit_prev: float, eta_prev: float, tol: float) -> float:
    """Eisenstat-Walker (choice 2) linear tolerance eta_k = 0.9 (|F_k| / |F_k-1|)^2, safeguarded.

    Never looser than EW_ETA_MAX, not much tighter than the previous one unless the
    residual dropped fast (the 0.9 eta_prev^2 safeguard), and at most |F_k| once the
    residual is below sqrt(tol): a forcing term O(|F_k|) keeps the final steps quadratic
    (|F_k+1| <= C |F_k|^2), so the step that ends below tol leaves an error of order
    tol^2, with GMRES solving to 1e-5 .. 1e-10 instead of to 1e-10 every time.
    """
    if not math.isfinite(merit_prev) or merit_prev <= 0:
        eta = EW_ETA_MAX
    else:
        eta = 0.9 * (merit / merit_prev) ** 2
        if 0.9 * eta_prev**2 > 0.1:
            eta = max(eta, 0.9 * eta_prev**2)
    eta = min(eta, EW_ETA_MAX)
    if merit < math.sqrt(tol):  # the last steps: eta = O(|F|), so that Newton ends quadratically
        eta = min(eta, merit)
    return eta


def closed_film_facets(facet_tags: dmesh.MeshTags) -> np.ndarray:
    """Outer facets that carry no current: everything but the two electrode patches."""
    return np.concatenate([facet_tags.find(t) for t in (SINK, TOP, OTHER)]).astype(np.int32)


def owned_is(U: fem.FunctionSpace, parent_dofs: np.ndarray) -> PETSc.IS:
    """PETSc index set (global numbering) of the owned entries of `parent_dofs`, local dofs of U."""
    imap, bs = U.dofmap.index_map, U.dofmap.index_map_bs
    own = np.sort(parent_dofs[parent_dofs < imap.size_local * bs])
    return PETSc.IS().createGeneral((own + imap.local_range[0] * bs).astype(np.int32), comm=U.mesh.comm)


def saddle_point_pc_options(current: str, potential: str) -> dict[str, object]:
    """PETSc options (without prefix) of the mixed electrical block's preconditioner, its
    splits named `current` and `potential`: Schur-complement factorisation with Jacobi on
    the current mass matrix and GAMG on the Schur complement B diag(M)^-1 B^T."""
    return {"pc_type": "fieldsplit", "pc_fieldsplit_type": "schur", "pc_fieldsplit_schur_fact_type": "full",
            "pc_fieldsplit_schur_precondition": "selfp",
            f"fieldsplit_{current}_ksp_type": "preonly", f"fieldsplit_{current}_pc_type": "jacobi",
            f"fieldsplit_{potential}_ksp_type": "preonly", f"fieldsplit_{potential}_pc_type": "gamg"}


@dataclass
class NewtonReport:
    converged: bool
    steps: int
    reason: str
    merit: float
    dm_max: float = math.inf
    dT_rel: float = math.inf


@dataclass
class SolveReport:
    converged: bool
    reason: str
    newton_steps: int
    levels: list[dict] = field(default_factory=list)
    final_width: float = math.nan
    phase_updates: int = 0
    metal_fraction_history: list[float] = field(default_factory=list)


class CoupledProblem:
    """Forms, unknowns and solvers of one configuration on one mesh."""

    def __init__(self, cfg: Config, fm: FilmMesh, comm: MPI.Comm | None = None):
        self.cfg = cfg = cfg.resolved()
        self.fm = fm
        msh = self.msh = fm.mesh
        self.comm = msh.comm
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        msh.topology.create_connectivity(tdim, tdim - 1)
        mat, th = cfg.material, cfg.thermal

        # --- spaces and unknowns -------------------------------------------------------
        # "p1": phi in P1, j = -sigma grad(phi) per cell (normal flux not conserved across facets);
        # "mixed": j in Raviart-Thomas (normal flux continuous), phi in DG0 (Darcy-type mixed form).
        self.mixed = cfg.solver.current_discretization == "mixed"
        cell = msh.basix_cell()
        P1 = basix.ufl.element("Lagrange", cell, 1)
        if self.mixed:
            elems = [basix.ufl.element("DG", cell, 0), P1, basix.ufl.element("RT", cell, 1)]
        else:
            elems = [P1, P1]
        self.U = U = fem.functionspace(msh, basix.ufl.mixed_element(elems))
        self.u = fem.Function(U, name="state")
        parts = ufl.split(self.u)
        tests = ufl.TestFunctions(U)
        self.phi, self.T = parts[0], parts[1]
        v, w = tests[0], tests[1]
        self.Q0 = fem.functionspace(msh, ("DG", 0))
        self.V_phi, self.map_phi = U.sub(0).collapse()
        self.V_T, self.map_T = U.sub(1).collapse()
        self.map_phi = np.asarray(self.map_phi, dtype=np.int32).ravel()
        self.map_T = np.asarray(self.map_T, dtype=np.int32).ravel()
        if self.mixed:
            self.V_J, map_J = U.sub(2).collapse()
            self.map_J = np.asarray(map_J, dtype=np.int32).ravel()
        else:
            self.V_J, self.map_J = None, np.zeros(0, dtype=np.int32)

        # film cells (local incl. ghosts) as a mask
        n_loc = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
        self.film_mask = np.zeros(n_loc, dtype=bool)
        self.film_mask[fm.cell_tags.find(FILM)] = True
        self.has_substrate = cfg.geometry.substrate_thickness > 0

        # --- parameters ------------------------------------------------------------------
        self.law = PhaseLaw.create(msh, cfg, cfg.solver.initial_width)
        self.t0 = fem.Constant(msh, float(th.t0))
        self.joule_on = fem.Constant(msh, 1.0 if th.joule_heating else 0.0)
        self.peltier_on = fem.Constant(msh, 1.0 if th.peltier_heating else 0.0)
        self.Vc = fem.Constant(msh, 0.0)  # positive-electrode potential in the mixed form (V)
        # pseudo-transient coefficient c (W/(m^3 K)): adds c M_T to the Jacobian only
        self.ptc = fem.Constant(msh, 0.0)
        self.ptc_scale = float(mat.kappa) / float(cfg.geometry.thickness) ** 2
        kappa = fem.Constant(msh, float(mat.kappa))
        kappa_sub = fem.Constant(msh, float(mat.kappa_substrate))

        # --- material laws, per cell ---------------------------------------------------------
        self.xc = cell_centroids(msh)
        self.Tc = cell_mean_temperature(self.T, self.xc)
        self.m_expr = self.law.metal_fraction(self.Tc)
        self.sigma = self.law.sigma(self.m_expr)
        self.S = self.law.seebeck(self.m_expr)
        self.m = fem.Function(self.Q0, name="phase")
        self._m_interp = fem.Expression(self.m_expr, self.Q0.element.interpolation_points)

        # --- measures ---------------------------------------------------------------------
        # m, sigma, S are constant per cell, so with P1 unknowns every volume integrand is at
        # most linear (Joule heat times a test function): the 1-point rule is exact there.
        # The RT mass term of the mixed form is quadratic.
        self.dx = ufl.Measure("dx", domain=msh, subdomain_data=fm.cell_tags,
                              metadata=QDEG if self.mixed else {"quadrature_degree": 1})
        self.ds = ufl.Measure("ds", domain=msh, subdomain_data=fm.facet_tags, metadata=QDEG)
        self.n = ufl.FacetNormal(msh)
        dxf = self.dx(FILM)

        # --- residual pieces (the Peltier part is added per interface tagging) --------------
        if self.mixed:
            J, tau = parts[2], tests[2]
            self.j = J
            F_e = electrical.mixed_residual(self.phi, J, v, tau, 1.0 / self.sigma, self.Vc, self.n,
                                            dxf, self.ds(ELECTRODE_POS))
            joule = electrical.joule_density_flux(J, self.sigma)
        else:
            self.j = electrical.current_density(self.phi, self.sigma)
            F_e = electrical.residual(self.phi, v, self.sigma, dxf)
            joule = electrical.joule_density(self.phi, self.sigma)
        F_T = thermal.conduction(self.T, w, kappa, dxf)
        if self.has_substrate:
            F_T += thermal.conduction(self.T, w, kappa_sub, self.dx(SUBSTRATE))
        F_T -= self.joule_on * joule * w * dxf
        self.joule_expr = joule
        self.F_bulk = F_e + F_T
        self.q_peltier = self.peltier_on * thermal.peltier_facet_density(self.T, self.S, self.j, self.n)
        self.w_test = w

        # --- boundary conditions (homogeneous, for Newton corrections) ----------------------
        ft = fm.facet_tags
        zero = PETSc.ScalarType(0)
        self.dofs_sink = fem.locate_dofs_topological(U.sub(1), tdim - 1, ft.find(SINK))
        self.bc_sink = fem.dirichletbc(zero, self.dofs_sink, U.sub(1))
        self.n_electrode_facets = [self.comm.allreduce(int(ft.find(t).size), op=MPI.SUM)
                                   for t in (ELECTRODE_NEG, ELECTRODE_POS)]
        if self.mixed:
            self.dofs_neg = self.dofs_pos = np.zeros(0, dtype=np.int32)
            # no current through the insulating film surfaces, none in the substrate
            self._bcs_electric = electrical.flux_bcs(
                U.sub(2), self.V_J, U.sub(0), ft, closed_film_facets(ft),
                fm.cell_tags.find(SUBSTRATE) if self.has_substrate else None)
            self.dofs_pinned = np.zeros(0, dtype=np.int32)
        else:
            self.dofs_neg = electrical.electrode_dofs(U.sub(0), ft, ELECTRODE_NEG)
            self.dofs_pos = electrical.electrode_dofs(U.sub(0), ft, ELECTRODE_POS)
            pinned = (electrical.substrate_only_dofs(U.sub(0), fm.cell_tags, FILM) if self.has_substrate
                      else np.zeros(0, np.int32))
            self.dofs_pinned = pinned
            self._bcs_electric = [fem.dirichletbc(zero, self.dofs_neg, U.sub(0)),
                                  fem.dirichletbc(zero, self.dofs_pos, U.sub(0))]
            if pinned.size:
                self._bcs_electric.append(fem.dirichletbc(zero, pinned, U.sub(0)))
        self.bcs = self._bcs_electric + [self.bc_sink]
        self._check_patches()

        # chi (P1 form only): 1 on the positive-electrode potential dofs -> I = F_e(test = chi), the reaction
        self.chi = fem.Function(U, name="chi_pos")
        self.chi.x.array[self.dofs_pos] = 1.0
        self.chi_sink = fem.Function(U, name="chi_sink")
        self.chi_sink.x.array[self.dofs_sink] = 1.0
        if self.mixed:
            # current entering the film through the + electrode, exact for the RT flux
            self.I_form_ufl = -ufl.dot(self.j, self.n) * self.ds(ELECTRODE_POS)
            self._dF_dV = ufl.dot(tests[2], self.n) * self.ds(ELECTRODE_POS)
        else:
            self.I_form_ufl = electrical.residual(self.phi, ufl.split(self.chi)[0], self.sigma, dxf)

        # --- drive ---------------------------------------------------------------------
        g = cfg.geometry
        self.R_ref = mat.rho_insulator * g.length / (g.width * g.thickness)  # crude scale (Ohm)
        self.I_drive = math.nan
        self.V = 0.0
        self._take_drive(cfg.drive, initial=True)
        self.Q_scale = mat.kappa * g.length * (mat.t_mit - th.t0)

        # --- initial state: T = T0, potential rising linearly in x from 0 to V --------------
        self.u.x.array[self.map_T] = th.t0
        length, V0 = g.length, self.V
        self.u.sub(0).interpolate(lambda x: V0 * x[0] / length)
        self.u.x.array[self.dofs_neg] = 0.0
        self.u.x.array[self.dofs_pos] = self.V
        self.u.x.scatter_forward()

        # --- linear algebra objects, built once --------------------------------------------
        du = ufl.TrialFunction(U)
        self.A = self._jacobian_matrix(du)
        self.Fvec = fpetsc.create_vector(U)
        self.bvec = fpetsc.create_vector(U)
        self.cvec = fpetsc.create_vector(U)
        self.y = fpetsc.create_vector(U)
        self.z = fpetsc.create_vector(U)
        self.du_vec = fpetsc.create_vector(U)
        self._du_fun = fem.Function(U)  # du_vec in the Function layout, with ghosts
        self.n_dofs = U.dofmap.index_map.size_global * U.dofmap.index_map_bs
        self.linear_solver = resolve_linear_solver(cfg.solver.linear_solver, self.n_dofs)
        self.ksp = self._make_ksp()
        self.iterative = self.ksp.getType() != "preonly"
        self.ksp_rtol = self.ksp.getTolerances()[0]  # the tightest tolerance of inexact Newton
        self._z_valid = False
        self._pc_lag_ok = False  # lagged preconditioner allowed (set after a first solve)
        self._pc_fresh_its = 0
        self.ksp_iterations: list[int] = []
        self._du = du
        self.interface_facets = np.zeros(0, dtype=np.int32)
        self._build_forms(np.zeros(0, dtype=np.int32))
        self.update_phase()

        n_cells = msh.topology.index_map(tdim).size_global
        self.n_cells = n_cells
        self.initial_state = self.save_state()
        self.ptc_restarts = 0  # band levels (re)started with pseudo-transient continuation

    def _jacobian_matrix(self, du) -> PETSc.Mat:
        """The Jacobian matrix, preallocated for every state the Newton loop can meet.

        Sparsity: that of the volume terms, which couples all unknowns of each cell. That
        already holds every entry the Peltier facet term can ever add: its rows are the
        temperature tests of the facet's three vertices (avg(w) vanishes at the vertex
        opposite the facet), which belong to both cells of the facet, so their rows
        already couple to all unknowns of both cells. The facet kernel's other rows are
        identically zero and are not stored (zero entries are ignored on insertion). A
        coupling missing from the pattern is an error, not a silent reallocation.
        """
        sp = fem.create_sparsity_pattern(fem.form(ufl.derivative(self.F_bulk, self.u, du)))
        sp.finalize()
        A = la_petsc_cpp.create_matrix(self.comm, sp, None)
        # fix the structure now (explicit zeros), then drop zero insertions and make any
        # insertion outside it an error (PETSc would otherwise ignore it silently)
        cols, offsets = sp.graph
        A.setValuesLocalCSR(np.asarray(offsets, dtype=PETSc.IntType), np.asarray(cols, dtype=PETSc.IntType),
                            np.zeros(cols.size, dtype=PETSc.ScalarType))
        A.assemble()
        A.setOption(PETSc.Mat.Option.IGNORE_ZERO_ENTRIES, True)
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_LOCATIONS, True)
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_LOCATION_ERR, True)
        return A

    def prescribe_phase(self, metal_cells: np.ndarray) -> None:
        """Freeze the phase: m = 1 in `metal_cells` (bool mask over local cells), m = 0 elsewhere.

        Moves each cell's band centre far away (+-1e12 K) so that the smoothed rule
        saturates exactly; for validation against closed forms with a known interface.
        """
        self.law.centre.x.array[:] = np.where(metal_cells[: self.law.centre.x.array.size], -1e12, 1e12)
        self.law.centre.x.scatter_forward()
        self.update_phase()

    def set_heat_sink_dofs(self, dofs: np.ndarray) -> None:
        """Hold T = T0 on these temperature dofs (parent numbering) instead of the SINK facets."""
        self.dofs_sink = np.asarray(dofs, dtype=np.int32)
        self.u.x.array[self.dofs_sink] = self.cfg.thermal.t0
        self.bc_sink = fem.dirichletbc(PETSc.ScalarType(0), self.dofs_sink, self.U.sub(1))
        self.bcs = self._bcs_electric + [self.bc_sink]
        self.chi_sink.x.array[:] = 0.0
        self.chi_sink.x.array[self.dofs_sink] = 1.0

    @property
    def V(self) -> float:
        """Voltage of the positive electrode (V); the negative one is at 0 V."""
        return self._V

    @V.setter
    def V(self, value: float) -> None:
        self._V = float(value)
        self.Vc.value = self._V

    def _take_drive(self, d, initial: bool = False) -> None:
        """Set the drive mode from a [drive] section.

        current:  I(u) = I_drive (V is the bordered unknown);
        voltage:  phi = V on the + electrode (no border);
        source:   voltage with a series load R: I(u) = (V_source - V) / R (bordered).
        """
        self.R_load = float(d.load_resistance)
        if d.current is not None:
            self.mode = "current"
            new = float(d.current)
            if not initial and math.isfinite(self.I_drive):
                self._scale_potential(new, self.I_drive)
            self.I_drive = new
            if initial:
                self.V = self.I_drive * self.R_ref
            self.I_scale = abs(self.I_drive) or 1.0
        elif self.R_load > 0:
            self.mode = "source"
            self.V_source = float(d.voltage)
            if initial:
                self.V = self.V_source * self.R_ref / (self.R_ref + self.R_load)
            self.I_scale = abs(self.V_source) / (self.R_ref + self.R_load) or 1.0
        else:
            self.mode = "voltage"
            self.V = float(d.voltage)
            self.I_scale = abs(self.V) / self.R_ref or 1.0
        self.current_control = self.mode != "voltage"  # bordered solve needed
        self.u.x.array[self.dofs_pos] = self.V

    def target_current(self) -> tuple[float, float]:
        """(I_target, dI_target/dV) of the bordered constraint I(u) = I_target(V)."""
        if self.mode == "current":
            return self.I_drive, 0.0
        return (self.V_source - self.V) / self.R_load, -1.0 / self.R_load

    def set_drive_scale(self, scale: float) -> None:
        """Scale the configured drive (current, voltage or source voltage) by `scale` (continuation)."""
        d = self.cfg.drive
        if self.mode == "current":
            new = float(d.current) * scale
            self._scale_potential(new, self.I_drive)
            self.I_drive = new
        elif self.mode == "source":
            new = float(d.voltage) * scale
            self._scale_potential(new, self.V_source)
            self.V_source = new
        else:
            self._scale_potential(float(d.voltage) * scale, self.V)
            self.V = float(d.voltage) * scale
            self.u.x.array[self.dofs_pos] = self.V

    def _scale_potential(self, new: float, old: float) -> None:
        """Scale phi and V by new/old: exact for a fixed phase pattern, a good warm start otherwise."""
        if old != 0.0 and math.isfinite(old) and new != 0.0:
            self.u.x.array[self.map_phi] *= new / old
            self.u.x.array[self.map_J] *= new / old
            self.V *= new / old

    def set_drive(self, cfg: Config) -> None:
        """Take a new drive from `cfg`, keeping the present state (warm start for sweeps)."""
        d = cfg.resolved().drive
        self.cfg = self.cfg.model_copy(update={"drive": d})
        self._take_drive(d)

    # ------------------------------------------------------------------------------------
    def _check_patches(self) -> None:
        n_sink = self.comm.allreduce(int(self.dofs_sink.size), op=MPI.SUM)
        for name, n in zip(("electrode_neg", "electrode_pos", "sink"), [*self.n_electrode_facets, n_sink]):
            if n == 0:
                raise SolverError(f"the mesh has no '{name}' facets")

    def _make_ksp(self) -> PETSc.KSP:
        ksp = PETSc.KSP().create(self.comm)
        ksp.setOperators(self.A)
        ksp.setOptionsPrefix(f"fem_peltier_newton_{id(self)}_")
        kind = self.linear_solver
        if kind in ("mumps", "superlu_dist"):
            ksp.setType("preonly")
            pc = ksp.getPC()
            pc.setType("lu")
            pc.setFactorSolverType(kind)
        elif kind == "gmres-gamg":
            # GMRES with a block (field-split) preconditioner: the electrical block, then the
            # temperature block (algebraic multigrid), coupled multiplicatively. The P1
            # potential block gets algebraic multigrid directly; the mixed (current, potential)
            # block is a saddle point: Schur-complement factorisation with a diagonal
            # approximation of the current mass matrix, whose Schur complement
            # B diag(M)^-1 B^T is a cell-to-cell conductance Laplacian (algebraic multigrid).
            ksp.setType("gmres")
            ksp.setGMRESRestart(100)
            ksp.setTolerances(rtol=1e-10, atol=1e-30, max_it=1000)
            pc = ksp.getPC()
            pc.setType("fieldsplit")
            pc.setFieldSplitType(PETSc.PC.CompositeType.MULTIPLICATIVE)
            electric = np.concatenate([self.map_phi, self.map_J])
            pc.setFieldSplitIS(("e", owned_is(self.U, electric)), ("T", owned_is(self.U, self.map_T)))
            opts = PETSc.Options()
            prefix = ksp.getOptionsPrefix()
            for field_name in ("e", "T"):
                opts[f"{prefix}fieldsplit_{field_name}_ksp_type"] = "preonly"
                opts[f"{prefix}fieldsplit_{field_name}_pc_type"] = "gamg"
            if self.mixed:
                e = f"{prefix}fieldsplit_e_"
                opts[f"{e}pc_fieldsplit_detect_saddle_point"] = True
                for key, value in saddle_point_pc_options("0", "1").items():
                    opts[e + key] = value
        else:  # "gmres-asm": a simple iterative fallback
            ksp.setType("gmres")
            ksp.getPC().setType("asm")
            ksp.setTolerances(rtol=1e-12, max_it=2000)
            ksp.setGMRESRestart(200)
        ksp.setFromOptions()
        return ksp

    def _build_forms(self, facets: np.ndarray) -> None:
        """(Re)compile the residual/Jacobian forms with Peltier facets `facets` (local, sorted)."""
        msh = self.msh
        facets = np.asarray(np.sort(facets), dtype=np.int32)
        tags = dmesh.meshtags(msh, msh.topology.dim - 1, facets, np.full(facets.size, INTERFACE, dtype=np.int32))
        self.interface_tags = tags
        dS = ufl.Measure("dS", domain=msh, subdomain_data=tags, metadata=QDEG)
        self.dS = dS
        F = self.F_bulk - self.q_peltier * ufl.avg(self.w_test) * dS(INTERFACE)
        self.F_ufl = F
        self.F_form = fem.form(F)
        dT, w = ufl.split(self._du)[1], self.w_test
        dx_ptc = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 1})  # vertex-lumped-like
        J = ufl.derivative(F, self.u, self._du)
        self.J_form = fem.form(J)
        # with the pseudo-transient term c M_T: compiled only when such steps are taken
        self._J_ptc_ufl = J + self.ptc * dT * w * dx_ptc
        self._J_ptc_form = None
        self.b_form = fem.form(self._dF_dV if self.mixed else ufl.derivative(F, self.u, self.chi))
        self.c_form = fem.form(ufl.derivative(self.I_form_ufl, self.u, ufl.TestFunction(self.U)))
        self.I_form = fem.form(self.I_form_ufl)
        self.peltier_form = fem.form(self.q_peltier * dS(INTERFACE))
        self.interface_facets = facets

    # ------------------------------------------------------------------------------------
    def update_phase(self) -> None:
        """Interpolate m(T_c) into the DG0 phase indicator, re-tag interface facets."""
        self.m.interpolate(self._m_interp)
        self.m.x.scatter_forward()
        facets = jump_facets(self.m, self.film_mask)
        same = facets.size == self.interface_facets.size and np.array_equal(facets, self.interface_facets)
        if not self.comm.allreduce(int(same), op=MPI.MIN):
            self._build_forms(facets)

    def phase_change(self, m_ref: np.ndarray) -> float:
        """max |m - m_ref| over the owned cells of all ranks."""
        n_own = self.Q0.dofmap.index_map.size_local
        dm = float(np.max(np.abs(self.m.x.array[:n_own] - m_ref[:n_own]), initial=0.0))
        return self.comm.allreduce(dm, op=MPI.MAX)

    def set_width(self, w: float) -> None:
        self.law.width.value = float(w)

    # --- assembly helpers ------------------------------------------------------------------
    def current(self) -> float:
        """Total current entering at the positive electrode (A), by the reaction method."""
        return self.comm.allreduce(fem.assemble_scalar(self.I_form), op=MPI.SUM)

    def _assemble_residual(self, vec: PETSc.Vec) -> None:
        with vec.localForm() as loc:
            loc.set(0.0)
        fpetsc.assemble_vector(vec, self.F_form)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)

    def merit(self) -> tuple[float, float]:
        """Scaled residual norm over free dofs (and the current mismatch). Returns (merit, I)."""
        self._assemble_residual(self.Fvec)
        fpetsc.set_bc(self.Fvec, self.bcs)
        arr = self.Fvec.array_r
        n_own = arr.size
        phi_own = self.map_phi[self.map_phi < n_own]
        T_own = self.map_T[self.map_T < n_own]
        se = float(np.dot(arr[phi_own], arr[phi_own]))
        sT = float(np.dot(arr[T_own], arr[T_own]))
        se, sT = self.comm.allreduce(np.array([se, sT]), op=MPI.SUM)
        I = self.current()
        r2 = se / self.I_scale**2 + sT / self.Q_scale**2
        if self.current_control:
            r2 += ((I - self.target_current()[0]) / self.I_scale) ** 2
        return math.sqrt(r2), I

    def temperatures(self) -> np.ndarray:
        return self.u.x.array[self.map_T]

    def physical(self) -> bool:
        return self.unphysical() is None

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

    # --- one Newton step -----------------------------------------------------------------
    def newton_direction(self, I_now: float | None = None) -> float:
        """Assemble J and solve the bordered system; leaves du in self.du_vec, returns dV.

        `I_now` given means `merit()` has just been evaluated at this state: self.Fvec then
        already holds the residual with zeros on the constrained dofs and its current.
        """
        A = self.A
        A.zeroEntries()
        fpetsc.assemble_matrix(A, self._jacobian_form(), bcs=self.bcs)
        A.assemble()
        # -F with zero on constrained dofs
        if I_now is None:
            self._assemble_residual(self.Fvec)
            fpetsc.set_bc(self.Fvec, self.bcs)
            I_now = self.current()
        self.Fvec.scale(-1.0)
        self.ksp.setInitialGuessNonzero(False)
        self._solve_lagged(self.Fvec, self.y)
        self._check_ksp("Newton correction")
        if not self.current_control:
            self.y.copy(self.du_vec)
            return 0.0
        # b = J chi, c = d I / d u
        with self.bvec.localForm() as loc:
            loc.set(0.0)
        fpetsc.assemble_vector(self.bvec, self.b_form)
        self.bvec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        self.bvec.scale(-1.0)
        fpetsc.set_bc(self.bvec, self.bcs)
        # the voltage response changes little between steps: start from the previous one
        self.ksp.setInitialGuessNonzero(self.iterative and self._z_valid)
        rtol = self.ksp.getTolerances()[0]
        if self.iterative:  # z enters du only through dV z, and dV -> 0 as Newton converges
            self.ksp.setTolerances(rtol=max(rtol, Z_RTOL))
        self.ksp.solve(self.bvec, self.z)
        self.ksp.setTolerances(rtol=rtol)
        self._z_valid = True
        self._check_ksp("bordered voltage response")
        with self.cvec.localForm() as loc:
            loc.set(0.0)
        fpetsc.assemble_vector(self.cvec, self.c_form)
        self.cvec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        chi = self.chi.x.petsc_vec
        I_t, dI_t = self.target_current()
        denom = self.cvec.dot(self.z) + self.cvec.dot(chi) - dI_t
        if denom == 0.0 or not math.isfinite(denom):
            raise SolverError("singular bordered system (zero differential conductance)")
        dV = (I_t - I_now - self.cvec.dot(self.y)) / denom
        # du = y + dV (z + chi)
        self.y.copy(self.du_vec)
        self.du_vec.axpy(dV, self.z)
        self.du_vec.axpy(dV, chi)
        return dV

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

    def _solve_lagged(self, b: PETSc.Vec, x: PETSc.Vec) -> None:
        """Solve with the preconditioner of an earlier Jacobian while it still works.

        Iterative solvers only: the preconditioner (field-split submatrices, AMG
        hierarchies, Schur complement) is rebuilt at the first step of each Newton solve
        and whenever a lagged solve fails or needs more than twice the iterations of the
        last fresh one (GMRES always solves with the current Jacobian).
        """
        pc = self.ksp.getPC()
        lag = self.iterative and self._pc_lag_ok
        pc.setReusePreconditioner(lag)
        self.ksp.solve(b, x)
        its = self.ksp.getIterationNumber()
        if lag and (self.ksp.getConvergedReason() < 0 or its > 2 * self._pc_fresh_its + 5):
            self.ksp_iterations.append(its)  # the wasted attempt counts
            pc.setReusePreconditioner(False)
            x.set(0.0)
            self.ksp.solve(b, x)
            lag = False
        if not lag:
            self._pc_fresh_its = self.ksp.getIterationNumber()
        self._pc_lag_ok = self.iterative

    def _check_ksp(self, what: str) -> None:
        self.ksp_iterations.append(self.ksp.getIterationNumber())
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            names = {v: k for k, v in vars(PETSc.KSP.ConvergedReason).items() if isinstance(v, int)}
            raise SolverError(f"linear solve for the {what} failed (PETSc KSP reason {reason} "
                              f"{names.get(reason, 'unknown')})")

    def newton(self, max_steps: int, tol: float, phase_tol: float, t_rtol: float,
               pseudo_transient: bool = False) -> NewtonReport:
        """Damped Newton on the current band width until the scaled residual < tol.

        With `pseudo_transient`, each step solves (J + c M_T) du = -F, a backward-Euler
        step of the heat equation in pseudo-time with 1/dt = c / (rho c_p): full steps
        are taken whenever the state stays physical (no decrease demanded), and c follows
        the residual (switched evolution relaxation: c_k = c_(k-1) merit_k / merit_(k-1)),
        so that the iteration turns into Newton as the residual falls. Starts at
        c = kappa / h^2 (h the film thickness).
        """
        try:
            return self._newton(max_steps, tol, phase_tol, t_rtol, pseudo_transient)
        finally:
            self.ptc.value = 0.0

    def _newton(self, max_steps: int, tol: float, phase_tol: float, t_rtol: float,
                pseudo_transient: bool) -> NewtonReport:
        merit, I_now = self.merit()
        self._pc_lag_ok = False  # a fresh preconditioner for the first step of every Newton solve
        c = self.ptc_scale if pseudo_transient else 0.0
        self.ptc.value = c
        steps = 0
        dm = math.inf
        dT_rel = math.inf
        u_save = self.u.x.array.copy()
        eta = EW_ETA_MAX
        merit_prev = math.nan
        history: list[float] = []
        last_bad = None
        while True:
            if merit < tol and dT_rel < t_rtol and dm < phase_tol and c < 1e-6 * self.ptc_scale:
                return NewtonReport(True, steps, "converged", merit, dm, dT_rel)
            if merit < tol * 1e-3 and steps > 0:  # residual at round-off: the step is as small as it gets
                return NewtonReport(True, steps, "converged", merit, dm, dT_rel)
            detail = f" ({last_bad})" if last_bad else ""  # the last rejected (unphysical) trial
            if steps >= max_steps:
                return NewtonReport(False, steps, "newton max steps" + detail, merit, dm, dT_rel)
            if c == 0 and len(history) > 3 and merit > 0.5 * history[-4]:
                # damped steps that barely reduce the residual: leave it to the caller
                # (pseudo-transient continuation) instead of spending the budget here
                return NewtonReport(False, steps, "Newton stagnating" + detail, merit, dm, dT_rel)
            history.append(merit)
            if self.iterative:  # inexact Newton: linear tolerance from the residual decrease
                eta = forcing_term(merit, merit_prev, eta, tol)
                self.ksp.setTolerances(rtol=max(eta, self.ksp_rtol))
            try:
                dV = self.newton_direction(I_now)
            except SolverError as exc:
                return NewtonReport(False, steps, str(exc), merit, dm, dT_rel)
            steps += 1
            du_loc = self._local_du()  # owned + ghost entries, Function layout
            u_save[:] = self.u.x.array
            m_save = self.m.x.array.copy()
            V_save = self.V
            lam = 1.0
            accepted = False
            why = None  # the first unphysical trial state, for the failure reason
            for _ in range(12):
                self.u.x.array[:] = u_save + lam * du_loc
                self.V = V_save + lam * dV
                bad = self.unphysical()
                if bad is None:
                    # the residual of the trial state with its own phase and Peltier facets:
                    # once accepted, it is the next step's residual as it stands
                    self.update_phase()
                    trial, I_trial = self.merit()
                    if math.isfinite(trial) and (trial <= (1 - 1e-4 * lam) * merit or trial < 1e-2 * tol
                                                 or (c > 0 and trial < 10 * merit)):
                        accepted = True
                        break
                elif why is None:
                    why = f"{bad} at step length {lam:.3g}"
                    last_bad = why
                lam *= 0.5
            if not accepted:
                self.u.x.array[:] = u_save
                self.V = V_save
                self.update_phase()
                detail = f" ({why})" if why else ""
                return NewtonReport(False, steps, "line search failed" + detail, merit, dm, dT_rel)
            T_new = self.temperatures()
            dT = float(np.max(np.abs(lam * du_loc[self.map_T]), initial=0.0))
            dT_rel = self.comm.allreduce(dT, op=MPI.MAX) / max(
                self.comm.allreduce(float(np.max(np.abs(T_new), initial=0.0)), op=MPI.MAX), 1e-300)
            dm = self.phase_change(m_save)
            merit_prev = merit
            merit, I_now = trial, I_trial
            if c > 0:  # switched evolution relaxation; a damped step also shortens dt
                c = c * min(max(merit / merit_prev, 0.1), 10.0) / lam
                if c < 1e-6 * self.ptc_scale:
                    c = 0.0
                self.ptc.value = c
            log.debug("    newton %2d: merit %.3e  lambda %.3g  dT/T %.2e  dm %.2e  V %.6g",
                      steps, merit, lam, dT_rel, dm, self.V)

    def _local_du(self) -> np.ndarray:
        """The Newton correction as a local (owned + ghost) array in the Function layout."""
        tmp = self._du_fun
        self.du_vec.copy(tmp.x.petsc_vec)
        tmp.x.scatter_forward()
        return tmp.x.array.copy()

    def destroy(self) -> None:
        """Free the PETSc objects now (a problem whose state has been carried elsewhere)."""
        for obj in (self.ksp, self.A, self.Fvec, self.bvec, self.cvec, self.y, self.z, self.du_vec):
            obj.destroy()

    # --- state handling ------------------------------------------------------------------
    def save_state(self) -> tuple:
        """(u, V, band centres, phase, drive targets): everything a failed attempt may change."""
        drive = (self.I_drive, getattr(self, "V_source", math.nan))
        return self.u.x.array.copy(), self.V, self.law.centre.x.array.copy(), self.m.x.array.copy(), drive

    def restore_state(self, state) -> None:
        """Go back to a saved state (a 4-tuple without drive targets is accepted too)."""
        u, V, centre, m = state[:4]
        if len(state) > 4:
            self.I_drive, V_source = state[4]
            if self.mode == "source":
                self.V_source = V_source
        self.u.x.array[:] = u
        self.V = V
        self.law.centre.x.array[:] = centre
        self.m.x.array[:] = m
        self.update_phase()


def solve(problem: CoupledProblem, progress=None, warm_start: bool = False,
          start_width: float | None = None, stop_width: float | None = None) -> SolveReport:
    """Continuation in the band width with Newton closing each level (see module docstring).

    The widest level is first tried directly from the initial state; if Newton fails
    there, the drive is ramped up from a fraction of its value (continuation in
    current or voltage, with adaptive steps).

    With `warm_start` (the state is a converged neighbour, e.g. the previous point of a
    sweep), Newton starts at the final band width so that the branch (and the
    hysteresis memory) of that state is followed; only if that fails does the full
    continuation from the widest band run.

    `start_width` starts the continuation at that band width from the present state
    (a state transferred from a coarser mesh, see sequencing.py); if Newton fails on
    that first level, the full continuation runs from the initial state instead.
    `stop_width` ends it at that width instead of at solver.transition_width; the result
    is a staging state for a finer mesh, so that level stops at solver.level_rtol like
    the other intermediate levels.
    """
    s = problem.cfg.solver
    comm = problem.comm
    w_final = s.transition_width if stop_width is None else max(stop_width, s.transition_width)
    w = s.initial_width if start_width is None else min(start_width, s.initial_width)
    w_prev = None
    steps_total = 0
    rep = SolveReport(False, "", 0)
    state = problem.save_state()
    if warm_start:
        problem.set_width(w_final)
        t_level = time.perf_counter()
        ok, steps_total, updates, reason = _solve_level(problem, s, s.max_iterations, True)
        mf = metal_fraction(problem)
        rep.levels.append({"width_K": w_final, "newton_steps": steps_total, "converged": ok,
                           "metal_fraction": mf, "wall_s": time.perf_counter() - t_level, "warm_start": True})
        log.info("  warm start at w = %.4g K: %s after %d Newton steps", w_final,
                 "converged" if ok else f"failed ({reason})", steps_total)
        if ok:
            rep.phase_updates = updates
            rep.metal_fraction_history.append(mf)
            rep.final_width = w_final
            rep.converged, rep.reason, rep.newton_steps = True, "converged", steps_total
            return rep
        problem.restore_state(state)
    while True:
        problem.set_width(w)
        t_level = time.perf_counter()
        budget = max(1, s.max_iterations - steps_total)
        last = w <= w_final * (1 + 1e-12)
        final = last and w_final <= s.transition_width  # a stop above it is a staging state
        ok, level_steps, updates, reason = _solve_level(problem, s, budget, final)
        if not ok and w_prev is None and start_width is not None and w < s.initial_width:
            # the transferred state was not good enough: full continuation from the start
            log.info("  start at w = %.4g K failed after %d Newton steps (%s); full continuation",
                     w, level_steps, reason)
            rep.levels.append({"width_K": w, "newton_steps": level_steps, "converged": False,
                               "metal_fraction": metal_fraction(problem), "wall_s": time.perf_counter() - t_level})
            steps_total += level_steps
            problem.restore_state(problem.initial_state)
            state = problem.save_state()
            w, start_width = s.initial_width, None
            continue
        if not ok and w_prev is None:
            steps_total += level_steps
            problem.restore_state(state)
            ok, level_steps, updates, reason = _ramp_drive(problem, s, max(1, s.max_iterations - steps_total), final)
        steps_total += level_steps
        rep.phase_updates += updates
        mf = metal_fraction(problem)
        rep.levels.append({"width_K": w, "newton_steps": level_steps, "converged": ok,
                           "metal_fraction": mf, "wall_s": time.perf_counter() - t_level})
        if progress is not None:
            progress(w, level_steps, ok, mf)
        log.info("  band w = %8.4g K: %s after %d Newton steps (metal fraction %.4f)",
                 w, "converged" if ok else f"failed ({reason})", level_steps, mf)
        if ok:
            rep.metal_fraction_history.append(mf)
            state = problem.save_state()
            rep.final_width = w
            if last:
                rep.converged = True
                rep.reason = "converged"
                break
            w_prev, w = w, max(w * s.width_factor, w_final)
        else:
            problem.restore_state(state)
            if w_prev is None:
                rep.reason = f"no solution at the initial band width {w:.4g} K ({reason})"
                break
            ratio = w / w_prev
            if ratio > 0.97:
                rep.reason = f"stalled at band width {w_prev:.4g} K ({reason})"
                break
            w = w_prev * math.sqrt(ratio)
        if steps_total >= s.max_iterations:
            problem.restore_state(state)
            rep.reason = (f"iteration budget ({s.max_iterations} Newton steps) exhausted "
                          f"at band width {rep.final_width:.4g} K")
            break
    rep.newton_steps = steps_total
    problem.set_width(rep.final_width if math.isfinite(rep.final_width) else w)
    problem.update_phase()  # m of the restored state at the reported width (restore_state used the failed one)
    comm.barrier()
    return rep


def _ramp_drive(problem: CoupledProblem, s, budget: int, final: bool) -> tuple[bool, int, int, str]:
    """Continuation in the drive at fixed band width: scale 0 -> 1 with adaptive increments."""
    steps = updates = 0
    scale, ds = 0.0, 0.25
    state = problem.save_state()
    reason = "drive ramp"
    while scale < 1.0:
        trial = min(1.0, scale + ds)
        problem.set_drive_scale(trial)
        ok, n, u, reason = _solve_level(problem, s, max(1, budget - steps), final and trial >= 1.0)
        steps += n
        updates += u
        log.debug("    drive ramp %.4f: %s (%d steps)", trial, "ok" if ok else reason, n)
        if ok:
            scale = trial
            state = problem.save_state()
            ds *= 1.5
        else:
            problem.restore_state(state)
            ds /= 2
            if ds < 1e-3:
                problem.set_drive_scale(1.0)
                return False, steps, updates, f"drive ramp stalled at {scale:.3f} of the drive ({reason})"
        if steps >= budget:
            problem.set_drive_scale(1.0)
            return False, steps, updates, f"iteration budget exhausted during the drive ramp (last: {reason})"
    return True, steps, updates, "converged"


def _solve_level(problem: CoupledProblem, s, budget: int, final: bool = True) -> tuple[bool, int, int, str]:
    """Newton at fixed w, repeated while the hysteresis memory (band centres) changes.

    Intermediate continuation levels (`final=False`) only need a good starting point
    for the next level: they stop at the looser `solver.level_rtol`.
    """
    steps = 0
    updates = 0
    if final:
        tols = (s.newton_rtol, s.phase_tol, s.temperature_rtol)
    else:
        tols = (max(s.newton_rtol, s.level_rtol), math.inf, math.inf)
    for _ in range(s.max_phase_updates):
        start = problem.save_state()
        nr = problem.newton(min(s.newton_max_iterations, budget - steps), *tols)
        steps += nr.steps
        if not nr.converged and steps < budget:
            # Newton from this start failed: pseudo-transient continuation from the same start
            log.debug("    Newton failed (%s); pseudo-transient continuation", nr.reason)
            problem.restore_state(start)
            problem.ptc_restarts += 1
            nr = problem.newton(min(s.newton_max_iterations, budget - steps), *tols, pseudo_transient=True)
            steps += nr.steps
        if not nr.converged:
            return False, steps, updates, nr.reason
        changed = update_centre(problem.law, problem.m, problem.cfg)
        if changed == 0:
            return True, steps, updates, "converged"
        updates += 1
        problem.update_phase()
        if steps >= budget:
            return False, steps, updates, "iteration budget"
    return False, steps, updates, "oscillating hysteresis memory"


def metal_fraction(problem: CoupledProblem) -> float:
    """Volume average of m over the film."""
    comm = problem.comm
    num = fem.assemble_scalar(fem.form(problem.m * problem.dx(FILM)))
    den = fem.assemble_scalar(fem.form(fem.Constant(problem.msh, 1.0) * problem.dx(FILM)))
    num, den = comm.allreduce(np.array([num, den]), op=MPI.SUM)
    return float(num / den)
