"""PETSc linear solvers built from options dicts.

Every linear solver of the package is a `LinearSolver`: one PETSc KSP configured
only through PETSc options (name -> value, written without the leading "-" and
without the prefix), so that a user can change any of it from the config
(``solver.petsc_options``) under a stable, documented prefix:

    NEWTON_PREFIX = "fem_peltier_newton_"   the KSP of the coupled Newton steps

e.g. ``solver.petsc_options = {ksp_rtol = 1e-8, fieldsplit_T_pc_type = "jacobi"}``
reaches PETSc as ``-fem_peltier_newton_ksp_rtol 1e-8`` and
``-fem_peltier_newton_fieldsplit_T_pc_type jacobi``.

Several solvers can be alive at once under the same prefix (a coarse-mesh and a
fine-mesh problem of mesh sequencing, with different solvers), and PETSc reads
some options late: a field-split or GAMG preconditioner reads its sub-solver
options at the first solve (PCSetUp), MUMPS at factorisation. A solver's options
are therefore in PETSc's global options database only while that solver is
configured or solving (`petsc_options`), and never outside.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mpi4py import MPI  # first: loads libmpi before petsc4py
import numpy as np
from petsc4py import PETSc

from .errors import InputError

if TYPE_CHECKING:
    from dolfinx import fem

    from .nested_preconditioner import NestedPreconditioner

log = logging.getLogger("fem_peltier")

NEWTON_PREFIX = "fem_peltier_newton_"
"""Options prefix of the coupled Newton solver's KSP (solver.petsc_options go under it)."""

LINEAR_SOLVERS = ("mumps", "superlu_dist", "gmres-gamg", "bicgstab-gamg", "gmres-asm")
"""The solver.linear_solver kinds `default_options` knows ("auto" is resolved before)."""

FIELD_SPLIT_SOLVERS = {"gmres-gamg": "gmres", "bicgstab-gamg": "bcgs"}
"""The field-split multigrid kinds and their Krylov methods (PETSc ksp_type)."""

OptionValue = str | int | float | bool
Options = dict[str, OptionValue]


# ---------------------------------------------------------------------------------------
# Default options of each solver.linear_solver kind


def default_options(kind: str, mixed: bool, electron_split: bool = False, nested: bool = False) -> Options:
    """PETSc options (without prefix) of the Newton KSP for a solver.linear_solver `kind`.

    `mixed` says whether the electrical block is the mixed (current, potential) saddle
    point rather than the P1 potential; `electron_split` adds the split "x" of the electrons'
    excess temperature (two temperatures); `nested` says the preconditioning matrix is a
    nested_preconditioner.NestedPreconditioner. Only the field-split kinds depend on them.
    """
    if kind in ("mumps", "superlu_dist"):
        return _direct_options(kind)
    if kind in FIELD_SPLIT_SOLVERS:
        return _fieldsplit_gamg_options(mixed, electron_split, FIELD_SPLIT_SOLVERS[kind], nested)
    if kind == "gmres-asm":
        return _asm_options()
    raise ValueError(f"unknown linear solver {kind!r}; expected one of {', '.join(LINEAR_SOLVERS)}")


def _direct_options(package: str) -> Options:
    """Exact LU factorisation by `package` (mumps, superlu_dist), applied once (preonly)."""
    return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": package}


def _fieldsplit_gamg_options(mixed: bool, electron_split: bool, krylov: str, nested: bool) -> Options:
    """A Krylov method `krylov` (gmres: restart 30; bcgs: BiCGStab; rtol 1e-10) with a block
    preconditioner over the splits "e" (electrical) and "T" (temperature), applied one after
    the other (multiplicative).

    GMRES's restart bounds its Krylov basis, the largest memory of the solve: 35 vectors of the
    size of the state at most (PETSc adds them 10 at a time), where restart 100 let a lagged
    solve of 60 iterations hold 65 (fig2a, 245k cells serial: peak 1.40 -> 1.27 GB; GMRES
    iterations 26.9 -> 30.8 per solve, CPU time of the run +8%). BiCGStab holds 8 vectors and
    applies the preconditioner twice per iteration (benchmarks/README.md, Memory).

    Each block is one application of algebraic multigrid; the mixed electrical block is a
    saddle point instead: its current and potential rows are preconditioned by
    `saddle_point_pc_options`, the two found by their zero diagonal (detect_saddle_point) or,
    `nested`, given by the nested preconditioning matrix, whose coupling J_Te the multiplicative
    update then takes from J (off_diag_use_amat). (Two V-cycles on the temperature took 48 -> 37
    GMRES iterations on a fig2a Newton system, but the preconditioned residual that stops the
    solve then understates the true one: the P1 potential's Newton took 39-80 steps instead of 14.)

    Two temperatures add the split "x" (the electrons' excess theta = T_e - T_l) before "T"
    (the lattice's T_l). Its block K_e + gamma M is solved first, then T_l with the coupling
    -gamma M theta known: block Gauss-Seidel whose error contracts by at most
    rho(K_l^-1 gamma M (K_e + gamma M)^-1 K_e) <= kappa_e / kappa_l for every gamma (the
    limit gamma -> infinity), where one multigrid on the strongly coupled (T_l, theta) block
    diverged (fig2a, 9728 cells: 520 GMRES iterations per solve, Newton failed).
    """
    opts: Options = {"ksp_type": krylov, **({"ksp_gmres_restart": 30} if krylov == "gmres" else {})}
    opts |= {
        "ksp_rtol": 1e-10,
        "ksp_atol": 1e-30,
        "ksp_max_it": 1000,
        "pc_type": "fieldsplit",
        "pc_fieldsplit_type": "multiplicative",
    }
    for name in ("e", "x", "T") if electron_split else ("e", "T"):
        opts[f"fieldsplit_{name}_ksp_type"] = "preonly"
        opts[f"fieldsplit_{name}_pc_type"] = "gamg"
    if mixed:
        if nested:
            opts["pc_fieldsplit_off_diag_use_amat"] = True
        else:
            opts["fieldsplit_e_pc_fieldsplit_detect_saddle_point"] = True
        opts.update({f"fieldsplit_e_{key}": value for key, value in saddle_point_pc_options("0", "1").items()})
        if nested:
            # the nest's potential block is the selfp Schur matrix S already; the multigrid on it
            # smooths with S, not with the Schur operator, which would now read S - J_phij
            # diag(J_jj)^-1 J_jphi (with selfp the two are the same matrix: same iterates)
            opts["fieldsplit_e_pc_fieldsplit_schur_precondition"] = "a11"
            opts["fieldsplit_e_fieldsplit_1_pc_use_amat"] = False
            # the Chebyshev smoothers keep the eigenvalue bounds of the first set-up (smoothed
            # aggregation's estimate) instead of re-estimating with ten GMRES iterations at
            # every later one, whose 21 vectors on the finest level stayed allocated (0.16 GB
            # at 965k cells). On the finest level this is safe whatever J: -S = B diag(J_jj)^-1
            # B^T is a weighted graph Laplacian (B the cell-facet divergence) plus a non-negative
            # diagonal, so the spectrum of diag(S)^-1 S lies in [0, 2] and the bound 1.1 x ~1.95
            # covers it; the coarser levels' Galerkin operators have no such bound (docs/physics.md)
            opts["fieldsplit_e_fieldsplit_1_pc_gamg_recompute_esteig"] = False
    return opts


def _asm_options() -> Options:
    """GMRES (restart 200, rtol 1e-12, at most 2000 iterations) with additive Schwarz:
    a simple iterative fallback."""
    return {"ksp_type": "gmres", "ksp_gmres_restart": 200, "ksp_rtol": 1e-12, "ksp_max_it": 2000, "pc_type": "asm"}


def saddle_point_pc_options(current: str, potential: str) -> Options:
    """PETSc options (without prefix) of the mixed electrical block's preconditioner, its
    splits named `current` and `potential`: Schur-complement factorisation with Jacobi on
    the current mass matrix and GAMG on the Schur complement B diag(M)^-1 B^T."""
    return {
        "pc_type": "fieldsplit",
        "pc_fieldsplit_type": "schur",
        "pc_fieldsplit_schur_fact_type": "full",
        "pc_fieldsplit_schur_precondition": "selfp",
        f"fieldsplit_{current}_ksp_type": "preonly",
        f"fieldsplit_{current}_pc_type": "jacobi",
        f"fieldsplit_{potential}_ksp_type": "preonly",
        f"fieldsplit_{potential}_pc_type": "gamg",
    }


def owned_is(U: fem.FunctionSpace, parent_dofs: np.ndarray) -> PETSc.IS:
    """PETSc index set (global numbering) of the owned entries of `parent_dofs`, local dofs of U."""
    imap, bs = U.dofmap.index_map, U.dofmap.index_map_bs
    own = np.sort(parent_dofs[parent_dofs < imap.size_local * bs])
    return PETSc.IS().createGeneral((own + imap.local_range[0] * bs).astype(PETSc.IntType), comm=U.mesh.comm)


# ---------------------------------------------------------------------------------------
# Options in the global database for the duration of a block


@contextmanager
def petsc_options(options: Mapping[str, OptionValue], prefix: str = "") -> Iterator[None]:
    """Set ``prefix + key = value`` in PETSc's global options database inside the block.

    On exit each option is removed again, or given back the value it had before (an
    option given on the command line or in PETSC_OPTIONS), also when the block raises.
    """
    db = PETSc.Options()
    before: dict[str, str | None] = {}
    absent: list[str] = []
    for key, value in options.items():
        name = prefix + key
        if db.hasName(name):
            before[name] = db.getString(name) or None  # a bare flag reads as ""
        else:
            absent.append(name)
        db.setValue(name, value)
    try:
        yield
    finally:
        for name in absent:
            db.delValue(name)
        for name, old in before.items():
            db.setValue(name, old)


# ---------------------------------------------------------------------------------------
# The solver


class LinearSolver:
    """One PETSc KSP on the matrix `A`, configured by PETSc options under `prefix`.

    `options` are the defaults (e.g. `default_options(kind, mixed)`), `user_options`
    (solver.petsc_options) are merged over them. `splits`, named index sets
    ``[(name, IS), ...]``, define the blocks of a field-split preconditioner (ignored
    when the options choose another pc_type). Solve with `solve`, not ``ksp.solve``:
    the options are in PETSc's database only during construction and `solve`. After
    the first solve, `unused_options` lists the user options PETSc never read (each a
    misspelt name, or one that this solver does not use) and one warning names them.
    `preconditioner` (a NestedPreconditioner of A) is the preconditioning matrix, refreshed
    from A before a solve that sets the preconditioner up; without it A is. The solver owns
    it: `destroy` frees it, `fresh` hands it to the new solver.
    """

    def __init__(
        self,
        A: PETSc.Mat,
        comm: MPI.Comm,
        options: Mapping[str, OptionValue],
        prefix: str = NEWTON_PREFIX,
        splits: Sequence[tuple[str, PETSc.IS]] = (),
        user_options: Mapping[str, OptionValue] | None = None,
        preconditioner: NestedPreconditioner | None = None,
    ):
        self._args = (A, comm, options, prefix, splits, user_options, preconditioner)  # for `fresh`
        self.A, self.preconditioner = A, preconditioner
        self._reuse = False
        self.prefix = prefix
        self.user_options: Options = dict(user_options or {})
        self.options: Options = {**options, **self.user_options}
        self.unused_options: list[str] = []  # filled after the first solve
        self._used: set[str] = set()
        self._solved = False
        db = PETSc.Options()  # options set outside (command line, PETSC_OPTIONS) stay on destroy
        self._outside = {k for k in self.options if db.hasName(prefix + k)}
        self.ksp = PETSc.KSP().create(comm)  # type: ignore[arg-type]
        self.ksp.setOptionsPrefix(prefix)
        self.ksp.setOperators(A, preconditioner.mat if preconditioner is not None else A)
        with self._options_in_database(), self._refused_options():
            self.ksp.setFromOptions()
            pc = self.ksp.getPC()
            if splits and pc.getType() == PETSc.PC.Type.FIELDSPLIT:
                pc.setFieldSplitIS(*splits)

    @property
    def iterative(self) -> bool:
        """True unless the KSP applies its preconditioner once (preonly, e.g. a direct LU)."""
        return self.ksp.getType() != PETSc.KSP.Type.PREONLY

    def solve(self, b: PETSc.Vec, x: PETSc.Vec) -> None:
        """Solve A x = b (x is the initial guess when the KSP is told so)."""
        if self.preconditioner is not None and not self._reuse:
            self.preconditioner.update(self.A)
        with self._options_in_database(), self._refused_options(first_solve=not self._solved):
            self.ksp.solve(b, x)
        if not self._solved:
            self._solved = True
            self._report_unused()

    def reuse_preconditioner(self, flag: bool) -> None:
        """Keep the preconditioner of an earlier operator (True) or set it up for the current one."""
        self._reuse = flag
        self.ksp.getPC().setReusePreconditioner(flag)

    def fresh(self) -> LinearSolver:
        """A new solver with this one's operator, options and splits, this one destroyed: frees
        what the solves built (the Krylov basis, the preconditioner's field-split submatrices
        and AMG hierarchies, a factorisation) while the operator stays. (KSPReset would also
        drop the field splits, and the saddle-point split did not set up again after it.)"""
        new = LinearSolver(*self._args)  # takes over the preconditioning matrix
        new._solved, new._used, new.unused_options = self._solved, self._used, self.unused_options
        self._destroy_ksp()
        return new

    def destroy(self) -> None:
        """Free the KSP and the preconditioning matrix; none of this solver's options stays in
        PETSc's database."""
        self._destroy_ksp()
        if self.preconditioner is not None:
            self.preconditioner.destroy()

    def _destroy_ksp(self) -> None:
        self.ksp.destroy()
        db = PETSc.Options()
        for key in self.options:  # already gone unless a block was left abnormally
            if key not in self._outside and db.hasName(self.prefix + key):
                db.delValue(self.prefix + key)

    @contextmanager
    def _refused_options(self, first_solve: bool = True) -> Iterator[None]:
        """A PETSc error while the user's options are first applied (set-up and first solve,
        where sub-solvers read theirs) is bad input: an InputError naming the key."""
        try:
            yield
        except PETSc.Error as exc:
            if not (first_solve and self.user_options):
                raise
            given = ", ".join(f"{k}={v}" for k, v in self.user_options.items())
            reason = str(exc).rsplit("]", 1)[-1].strip()  # PETSc's last line: what it could not do
            raise InputError("solver.petsc_options", f"PETSc refused {{{given}}}: {reason}") from None

    @contextmanager
    def _options_in_database(self) -> Iterator[None]:
        """This solver's options in the database; records which user options PETSc read."""
        with petsc_options(self.options, self.prefix):
            try:
                yield
            finally:
                db = PETSc.Options()
                self._used.update(k for k in self.user_options if db.used(self.prefix + k))

    def _report_unused(self) -> None:
        self.unused_options = sorted(k for k in self.user_options if k not in self._used)
        if self.unused_options:
            log.warning(
                "solver.petsc_options: PETSc did not use %s (misspelt, or not used by this solver)",
                ", ".join(self.unused_options),
            )
