"""Bordered Newton with line search, inexact linear solves and pseudo-transient steps.

The solver knows nothing of the physics. A problem (the `BorderedProblem` protocol)
gives it a residual F(u, V), its Jacobian, the derivative of F in the bordered scalar
V, the constraint I(u) = I_target(V) with its derivatives, a scaled residual norm,
and hooks: `update_phase` after every trial state, `unphysical` to reject a trial,
and a phase snapshot to measure how much the phase moved.

One step linearises F(u + du, V + dV) = 0, I(u + du) = I_target(V + dV) and
eliminates dV by two solves with one matrix (docs/physics.md):

    J y = -F,    J z = -dF/dV,    dV = (I_t - I - c.y) / (c.z + c.chi - dI_t/dV),
    du = y + dV (z + chi)

with c = dI/du and chi the lift of a unit electrode voltage (P1 potential). A
backtracking line search takes the longest step (1, 1/2, ...) whose state is
physical and lowers the scaled residual; with pseudo-transient continuation each
step solves (J + c_p M_T) du = -F instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import dolfinx.fem.petsc as fpetsc
import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx.common import IndexMap
from dolfinx.cpp.la import petsc as la_petsc_cpp
from petsc4py import PETSc

from .errors import SolverError
from .heap import release_free_heap
from .linalg import LinearSolver

log = logging.getLogger("fem_peltier")

EW_ETA_MAX = 1e-4  # loosest linear tolerance of inexact Newton
Z_RTOL = 1e-6  # linear tolerance of the voltage-response solve of the bordered system


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


def jacobian_matrix(
    jacobian: ufl.Form, comm: MPI.Comm, uncoupled: tuple[np.ndarray, np.ndarray] | None = None
) -> PETSc.Mat:
    """A matrix with the sparsity of `jacobian`, fixed: explicit zeros are dropped on
    insertion and an entry outside the pattern is an error, not a silent reallocation.

    DOLFINx's pattern of a mixed space couples every dof of a cell with every other. Given
    `uncoupled`, two sets of local dofs (owned and ghost) whose blocks in `jacobian` are
    zero whatever the state (the cell potential and the temperature of the mixed current),
    the rows of each set leave out the columns of the other.
    """
    form = fem.form(jacobian)
    sp = fem.create_sparsity_pattern(form)
    sp.finalize()
    cols, offsets = sp.graph
    V = form.function_spaces[0]
    if uncoupled is None or V.dofmap.index_map_bs != 1:
        A = la_petsc_cpp.create_matrix(comm, sp, None)
        A.setValuesLocalCSR(
            np.asarray(offsets, dtype=PETSc.IntType),
            np.asarray(cols, dtype=PETSc.IntType),
            np.zeros(cols.size, dtype=PETSc.ScalarType),
        )
        A.assemble()
    else:
        col_map = sp.index_map(1)  # the pattern's columns: the dofs and the ghosts it adds
        n_owned = col_map.size_local  # the graph's ghost rows are in their owners' rows too
        offsets, cols = offsets[: n_owned + 1], cols[: offsets[n_owned]]
        offsets, cols = pattern_without(offsets, cols, column_groups(col_map, *uncoupled))
        global_cols = cols if comm.size == 1 else col_map.local_to_global(cols).astype(PETSc.IntType)
        del sp, cols
        A = _matrix_with_pattern(comm, V, offsets, global_cols)
    A.setOption(PETSc.Mat.Option.IGNORE_ZERO_ENTRIES, True)
    A.setOption(PETSc.Mat.Option.NEW_NONZERO_LOCATIONS, True)
    A.setOption(PETSc.Mat.Option.NEW_NONZERO_LOCATION_ERR, True)
    return A


def column_groups(col_map: IndexMap, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 on the dofs `a`, 2 on `b`, 0 elsewhere (local dofs, owned first), for every local
    column of a sparsity pattern with the column map `col_map` (its ghosts may go beyond the
    dofmap's: their group comes from their owner)."""
    n_owned = col_map.size_local
    x = la.vector(col_map, dtype=np.float64)
    x.array[:] = 0.0
    x.array[a[a < n_owned]] = 1.0
    x.array[b[b < n_owned]] = 2.0
    x.scatter_forward()
    return x.array.astype(np.int8)


def pattern_without(
    offsets: np.ndarray, cols: np.ndarray, group: np.ndarray, rows_per_block: int = 2**18
) -> tuple[np.ndarray, np.ndarray]:
    """The CSR pattern (offsets, local columns) of the owned rows without the entries between
    group 1 and group 2 (`group` of each local column, `column_groups`; the rows are the first
    columns), worked through in blocks of rows so that the temporaries stay small."""
    keep = np.empty(cols.size, dtype=bool)
    n_rows = offsets.size - 1
    for r0 in range(0, n_rows, rows_per_block):
        r1 = min(r0 + rows_per_block, n_rows)
        lo, hi = offsets[r0], offsets[r1]
        row_group = np.repeat(group[r0:r1], np.diff(offsets[r0 : r1 + 1]))
        keep[lo:hi] = row_group * group[cols[lo:hi]] != 2  # 1 x 2: a row of a, a column of b or back
    kept = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    return kept[offsets].astype(PETSc.IntType), cols[keep]


def _matrix_with_pattern(comm: MPI.Comm, V: fem.FunctionSpace, offsets: np.ndarray, cols: np.ndarray) -> PETSc.Mat:
    """An AIJ matrix over V x V (block size 1) holding zeros in the CSR pattern of its owned
    rows (global column indices), with V's local-to-global map for the assembly."""
    imap = V.dofmap.index_map
    n_local = imap.size_local + imap.num_ghosts
    l2g = imap.local_to_global(np.arange(n_local, dtype=np.int32)).astype(PETSc.IntType)
    lgmap = PETSc.LGMap().create(l2g, comm=comm)  # type: ignore[arg-type]
    A = PETSc.Mat().create(comm)  # type: ignore[arg-type]
    A.setSizes(((imap.size_local, imap.size_global), (imap.size_local, imap.size_global)))
    A.setType(PETSc.Mat.Type.AIJ)
    A.setPreallocationCSR((offsets, cols))
    A.setLGMap(lgmap, lgmap)
    A.assemble()
    return A


@dataclass
class NewtonForms:
    """The compiled forms of one Newton step (with the P1 potential they change when the interface
    facets do)."""

    residual: fem.Form  # F(u; v)
    jacobian: fem.Form  # dF/du (plus c_p M_T during pseudo-transient steps)
    voltage_derivative: fem.Form  # dF/dV (vector)
    current_derivative: fem.Form  # dI/du (vector)
    # further parts of F and dF/du, added into the same vector and matrix (interface facets in
    # chunks: coupled.CoupledProblem.interface_chunks)
    residual_parts: Sequence[fem.Form] = ()
    jacobian_parts: Sequence[fem.Form] = ()


def assemble_jacobian(A: PETSc.Mat, forms: NewtonForms, bcs: list) -> None:
    """A = dF/du from the Jacobian and its parts, with the rows and columns of the constrained
    dofs zero but for 1 on the diagonal. The main form comes last: the diagonal is inserted
    (not added) by each assembly, and a flush separates inserting from the next adding."""
    A.zeroEntries()
    for part in forms.jacobian_parts:
        fpetsc.assemble_matrix(A, part, bcs=bcs)
        A.assemble(PETSc.Mat.AssemblyType.FLUSH)
    fpetsc.assemble_matrix(A, forms.jacobian, bcs=bcs)
    A.assemble()


@dataclass
class NewtonReport:
    converged: bool
    steps: int
    reason: str
    merit: float
    dm_max: float = math.inf
    dT_rel: float = math.inf


class BorderedProblem(Protocol):
    """What the Newton solver needs from a problem."""

    comm: MPI.Comm
    u: fem.Function
    V: float
    ptc_scale: float  # starting pseudo-transient coefficient (W/(m^3 K))
    temperature_dofs: np.ndarray  # monitored for the relative change dT/T

    @property
    def bcs(self) -> list: ...
    @property
    def controls_current(self) -> bool: ...
    def newton_forms(self) -> NewtonForms: ...
    def voltage_lift(self) -> fem.Function: ...
    def target_current(self) -> tuple[float, float]: ...
    def current(self) -> float: ...
    def residual_norm(self, F: PETSc.Vec, current: float) -> float: ...
    def set_pseudo_time(self, c: float) -> None: ...
    def unphysical(self) -> str | None: ...
    def update_phase(self) -> None: ...
    def phase_snapshot(self) -> np.ndarray: ...
    def phase_change(self, snapshot: np.ndarray) -> float: ...


class ContactBorders(Protocol):
    """What the multi-bordered step needs besides (optional: a problem without `aux_count`
    has no other contact potentials): the aux contacts of terminals.py."""

    aux_count: int
    aux_V: np.ndarray
    aux_forms: list[tuple[fem.Form, fem.Form, fem.Form]]

    def aux_currents(self) -> np.ndarray: ...
    def aux_targets(self) -> np.ndarray: ...
    def aux_lift(self, k: int) -> fem.Function | None: ...


def aux_count(problem: object) -> int:
    """Number of extra bordered contact potentials of a problem (0 when it has none)."""
    return int(getattr(problem, "aux_count", 0))


class BorderedNewton:
    """Newton's linear algebra (matrix, vectors, linear solver) and its iteration for one problem."""

    def __init__(self, problem: BorderedProblem, A: PETSc.Mat, solver: LinearSolver):
        self.problem = problem
        U = problem.u.function_space
        self.A = A
        self.solver = solver
        self.ksp = solver.ksp
        self.iterative = solver.iterative
        self.ksp_rtol = self.ksp.getTolerances()[0]  # the tightest tolerance of inexact Newton
        # five state-sized vectors: b holds -dF/dV and then, its response solved, dI/du; du is the
        # vector of a Function (ghosts for the line search)
        self.F = fpetsc.create_vector(U)
        self.b = fpetsc.create_vector(U)
        self.y = fpetsc.create_vector(U)
        self.z = fpetsc.create_vector(U)
        self._du_fun = fem.Function(U)
        self.du = self._du_fun.x.petsc_vec
        self._z_valid = False
        self.dV_aux = np.zeros(0)  # the aux contacts' potential corrections of the last step (V)
        self._pc_lag_ok = False  # lagged preconditioner allowed (set after a first solve)
        self._pc_fresh_its = 0
        self.ksp_iterations: list[int] = []

    # --- residual ------------------------------------------------------------------------
    @staticmethod
    def _assemble(vec: PETSc.Vec, forms: Sequence[fem.Form]) -> None:
        """vec = the sum of the vectors of `forms`, ghost contributions summed (rows not zeroed)."""
        with vec.localForm() as loc:
            loc.set(0.0)
        for form in forms:
            fpetsc.assemble_vector(vec, form)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)

    def _minus_derivative(self, form: fem.Form) -> PETSc.Vec:
        """self.b = -dF/dV of a contact's potential (the form `form`), zero on the constrained dofs."""
        self._assemble(self.b, [form])
        self.b.scale(-1.0)
        fpetsc.set_bc(self.b, self.problem.bcs)
        return self.b

    def assemble_residual(self, vec: PETSc.Vec) -> None:
        """vec = F(u) with ghost contributions summed (boundary rows not zeroed)."""
        forms = self.problem.newton_forms()
        # the packed coefficients of the cells (~112 B per cell) are the largest transient of a
        # Newton step: give the freed heap of the step so far back first (heap.py)
        release_free_heap()
        self._assemble(vec, [forms.residual, *forms.residual_parts])

    def merit(self) -> tuple[float, float]:
        """Scaled residual norm over free dofs (and the current mismatch). Returns (merit, I)."""
        p = self.problem
        self.assemble_residual(self.F)
        fpetsc.set_bc(self.F, p.bcs)
        I = p.current()
        return p.residual_norm(self.F, I), I

    # --- one step --------------------------------------------------------------------------
    def direction(self, I_now: float | None = None) -> float:
        """Assemble J and solve the bordered system; leaves du in self.du, returns dV.

        `I_now` given means `merit()` has just been evaluated at this state: self.F then
        already holds the residual with zeros on the constrained dofs and its current.
        """
        p = self.problem
        forms = p.newton_forms()
        assemble_jacobian(self.A, forms, p.bcs)
        # -F with zero on constrained dofs
        if I_now is None:
            self.assemble_residual(self.F)
            fpetsc.set_bc(self.F, p.bcs)
            I_now = p.current()
        self.F.scale(-1.0)
        self.ksp.setInitialGuessNonzero(False)
        self._solve_lagged(self.F, self.y)
        self._check_ksp("Newton correction")
        self.dV_aux = np.zeros(aux_count(p))
        if self.dV_aux.size:
            return self._multi_bordered(forms, I_now)
        if not p.controls_current:
            self.y.copy(self.du)
            return 0.0
        # b = -dF/dV, c = dI/du
        self._minus_derivative(forms.voltage_derivative)
        # the voltage response changes little between steps: start from the previous one
        self.ksp.setInitialGuessNonzero(self.iterative and self._z_valid)
        rtol = self.ksp.getTolerances()[0]
        if self.iterative:  # z enters du only through dV z, and dV -> 0 as Newton converges
            self.ksp.setTolerances(rtol=max(rtol, Z_RTOL))
        self.solver.solve(self.b, self.z)
        self.ksp.setTolerances(rtol=rtol)
        self._z_valid = True
        self._check_ksp("bordered voltage response")
        c = self.b  # b's response z is solved: b now holds c = dI/du
        self._assemble(c, [forms.current_derivative])
        chi = p.voltage_lift().x.petsc_vec
        I_t, dI_t = p.target_current()
        denom = c.dot(self.z) + c.dot(chi) - dI_t
        if denom == 0.0 or not math.isfinite(denom):
            raise SolverError("singular bordered system (zero differential conductance)")
        dV = (I_t - I_now - c.dot(self.y)) / denom
        # du = y + dV (z + chi)
        self.y.copy(self.du)
        self.du.axpy(dV, self.z)
        self.du.axpy(dV, chi)
        return dV

    def _border_response(self, form: fem.Form, z: PETSc.Vec) -> None:
        """z = J^-1 (-dF/dV_k) with zero on the constrained dofs."""
        self.ksp.setInitialGuessNonzero(False)
        self.solver.solve(self._minus_derivative(form), z)
        self._check_ksp("bordered contact response")

    def _multi_bordered(self, forms: NewtonForms, I_now: float) -> float:
        """The bordered step with the aux contacts' potentials V_k as unknowns too (terminals.py):
        with y = J^-1 (-F), z_k = J^-1 (-dF/dV_k) and chi_k the lifts, du = y + sum_k dV_k (z_k + chi_k)
        and the constraints I_i + c_i . du = I_target_i + dI_target_i/dV_i dV_i give a small dense
        system M dV = r, M_ik = c_i . (z_k + chi_k) - delta_ik dI_target_i/dV_i. Returns dV (0
        under voltage control) and leaves the aux dV_k in self.dV_aux."""
        p = self.problem
        q = cast(ContactBorders, p)
        borders: list[tuple[fem.Form, fem.Form, PETSc.Vec | None, float, float, float]] = []
        if p.controls_current:
            lift = p.voltage_lift().x.petsc_vec
            I_t, dI_t = p.target_current()
            borders.append((forms.voltage_derivative, forms.current_derivative, lift, I_now, I_t, dI_t))
        currents, targets = q.aux_currents(), q.aux_targets()
        for k, (b_form, c_form, _) in enumerate(q.aux_forms):
            chi = q.aux_lift(k)
            borders.append((b_form, c_form, chi.x.petsc_vec if chi is not None else None, currents[k], targets[k], 0.0))
        n = len(borders)
        zs = []
        for b_form, _, lift, *_ in borders:
            z = self.y.duplicate()
            self._border_response(b_form, z)
            if lift is not None:
                z.axpy(1.0, lift)  # z_k + chi_k
            zs.append(z)
        M = np.zeros((n, n))
        r = np.zeros(n)
        for i, (_, c_form, _, I_i, It_i, dIt_i) in enumerate(borders):
            c = self.b  # every response z_k is solved: b holds c_i = dI_i/du
            self._assemble(c, [c_form])
            r[i] = It_i - I_i - c.dot(self.y)
            for k in range(n):
                M[i, k] = c.dot(zs[k])
            M[i, i] -= dIt_i
        try:
            dV = np.linalg.solve(M, r)
        except np.linalg.LinAlgError:
            raise SolverError(
                "singular bordered system (a contact's current does not depend on its potential)"
            ) from None
        if not np.all(np.isfinite(dV)):
            raise SolverError("singular bordered system (non-finite contact potentials)")
        self.y.copy(self.du)
        for dv, z in zip(dV, zs):
            self.du.axpy(float(dv), z)
            z.destroy()
        if p.controls_current:
            self.dV_aux = dV[1:]
            return float(dV[0])
        self.dV_aux = dV
        return 0.0

    def _solve_lagged(self, b: PETSc.Vec, x: PETSc.Vec) -> None:
        """Solve with the preconditioner of an earlier Jacobian while it still works.

        Iterative solvers only: the preconditioner (field-split submatrices, AMG
        hierarchies, Schur complement) is rebuilt at the first step of each Newton solve
        and whenever a lagged solve fails or needs more than twice the iterations of the
        last fresh one (the Krylov method always solves with the current Jacobian).
        """
        lag = self.iterative and self._pc_lag_ok
        self.solver.reuse_preconditioner(lag)
        self.solver.solve(b, x)
        its = self.ksp.getIterationNumber()
        if lag and (self.ksp.getConvergedReason() < 0 or its > 2 * self._pc_fresh_its + 5):  # type: ignore[operator]
            self.ksp_iterations.append(its)  # the wasted attempt counts
            self.solver.reuse_preconditioner(False)
            x.set(0.0)
            self.solver.solve(b, x)
            lag = False
        if not lag:
            self._pc_fresh_its = self.ksp.getIterationNumber()
        self._pc_lag_ok = self.iterative

    def _check_ksp(self, what: str) -> None:
        self.ksp_iterations.append(self.ksp.getIterationNumber())
        reason: int = self.ksp.getConvergedReason()  # type: ignore[assignment]
        if reason < 0:
            names = {v: k for k, v in vars(PETSc.KSP.ConvergedReason).items() if isinstance(v, int)}
            # a new solver for the next solve: a failed preconditioner set-up (MUMPS on a
            # non-finite Jacobian) otherwise made every later solve of this problem fail too,
            # from any state (PETSc KSP reason -11 again), so no fallback could recover
            self.release()
            raise SolverError(
                f"linear solve for the {what} failed (PETSc KSP reason {reason} {names.get(reason, 'unknown')})"
            )

    def local_correction(self) -> np.ndarray:
        """The Newton correction as a local (owned + ghost) array in the Function layout."""
        self._du_fun.x.scatter_forward()
        return self._du_fun.x.array  # valid until the next call (no copy: one state vector less at the peak)

    # --- the iteration -----------------------------------------------------------------------
    def solve(
        self,
        max_steps: int,
        tol: float,
        phase_tol: float,
        t_rtol: float,
        pseudo_transient: bool = False,
        keep_preconditioner: bool = False,
    ) -> NewtonReport:
        """Damped Newton at fixed parameters until the scaled residual < tol.

        With `pseudo_transient`, each step solves (J + c M_T) du = -F, a backward-Euler
        step of the heat equation in pseudo-time with 1/dt = c / (rho c_p): full steps
        are taken whenever the state stays physical (no decrease demanded), and c follows
        the residual (switched evolution relaxation: c_k = c_(k-1) merit_k / merit_(k-1)),
        so that the iteration turns into Newton as the residual falls. Starts at
        c = problem.ptc_scale.

        `keep_preconditioner` lets the first step reuse the preconditioner of the previous solve
        (a time step after a time step: the Jacobian changes little); it is rebuilt as soon as
        a lagged solve fails or needs more than twice the iterations of the last fresh one.
        """
        try:
            return self._iterate(max_steps, tol, phase_tol, t_rtol, pseudo_transient, keep_preconditioner)
        finally:
            self.problem.set_pseudo_time(0.0)

    def _iterate(
        self,
        max_steps: int,
        tol: float,
        phase_tol: float,
        t_rtol: float,
        pseudo_transient: bool,
        keep_preconditioner: bool = False,
    ) -> NewtonReport:
        p = self.problem
        comm = p.comm
        u = p.u.x.array
        merit, I_now = self.merit()
        # a fresh preconditioner for the first step of every Newton solve, unless kept
        self._pc_lag_ok = self._pc_lag_ok and keep_preconditioner
        c = p.ptc_scale if pseudo_transient else 0.0
        p.set_pseudo_time(c)
        steps = 0
        dm = math.inf
        dT_rel = math.inf
        u_save = u.copy()
        eta = EW_ETA_MAX
        merit_prev = math.nan
        history: list[float] = []
        last_bad = None
        while True:
            if merit < tol and dT_rel < t_rtol and dm < phase_tol and c < 1e-6 * p.ptc_scale:
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
                dV = self.direction(I_now)
            except SolverError as exc:
                return NewtonReport(False, steps, str(exc), merit, dm, dT_rel)
            steps += 1
            du_loc = self.local_correction()  # owned + ghost entries, Function layout
            u_save[:] = u
            m_save = p.phase_snapshot()
            V_save = p.V
            contacts = cast(ContactBorders, p) if aux_count(p) else None
            aux_save = contacts.aux_V if contacts is not None else np.zeros(0)
            lam = 1.0
            accepted = False
            why = None  # the first unphysical trial state, for the failure reason
            for _ in range(12):
                np.multiply(du_loc, lam, out=u)  # u = u_save + lam du without two temporaries
                u += u_save
                p.V = V_save + lam * dV
                if contacts is not None:
                    contacts.aux_V = aux_save + lam * self.dV_aux
                bad = p.unphysical()
                if bad is None:
                    # the residual of the trial state with its own phase and Peltier facets:
                    # once accepted, it is the next step's residual as it stands
                    p.update_phase()
                    trial, I_trial = self.merit()
                    if math.isfinite(trial) and (
                        trial <= (1 - 1e-4 * lam) * merit or trial < 1e-2 * tol or (c > 0 and trial < 10 * merit)
                    ):
                        accepted = True
                        break
                elif why is None:
                    why = f"{bad} at step length {lam:.3g}"
                    last_bad = why
                lam *= 0.5
            if not accepted:
                u[:] = u_save
                p.V = V_save
                if contacts is not None:
                    contacts.aux_V = aux_save
                p.update_phase()
                detail = f" ({why})" if why else ""
                return NewtonReport(False, steps, "line search failed" + detail, merit, dm, dT_rel)
            T_new = u[p.temperature_dofs]
            dT = float(np.max(np.abs(lam * du_loc[p.temperature_dofs]), initial=0.0))
            dT_rel = comm.allreduce(dT, op=MPI.MAX) / max(
                comm.allreduce(float(np.max(np.abs(T_new), initial=0.0)), op=MPI.MAX), 1e-300
            )
            dm = p.phase_change(m_save)
            merit_prev = merit
            merit, I_now = trial, I_trial
            if c > 0:  # switched evolution relaxation; a damped step also shortens dt
                c = c * min(max(merit / merit_prev, 0.1), 10.0) / lam
                if c < 1e-6 * p.ptc_scale:
                    c = 0.0
                p.set_pseudo_time(c)
            log.debug(
                "    newton %2d: merit %.3e  lambda %.3g  dT/T %.2e  dm %.2e  V %.6g",
                steps,
                merit,
                lam,
                dT_rel,
                dm,
                p.V,
            )

    def release(self) -> None:
        """Free the linear solver's work (Krylov basis, preconditioner set-up) between solves,
        e.g. before the diagnostics of a solved state; the next step sets it up again."""
        self.solver = self.solver.fresh()
        self.ksp = self.solver.ksp
        self._pc_lag_ok = False

    def destroy(self) -> None:
        """Free the PETSc objects now (a problem whose state has been carried elsewhere)."""
        self.solver.destroy()
        for obj in (self.A, self.F, self.b, self.y, self.z):
            obj.destroy()
