"""The field split's preconditioning matrix as nested blocks of the Jacobian (memory).

PETSc's field split copies each block it preconditions out of the preconditioning matrix P.
With P = J, one AIJ matrix, the mixed current's electrical block is copied twice: once by
the outer split (e | T) and once more, as its four blocks, by the inner Schur split
(current | potential). Given P as a MATNEST whose blocks are the ones the splits use, a
split takes its block by reference, without a copy:

    P = diag(E, J_TT)   (two temperatures: diag(E, J_xx, J_TT))
    E = [[diag(J_jj), J_jphi], [J_phij, S]],   S = J_phiphi - J_phij diag(J_jj)^-1 J_jphi

The current-current block J_jj (the resistivity-weighted Raviart-Thomas mass matrix, a third
of the Jacobian's nonzeros) enters the preconditioner only through its diagonal: Jacobi on
the current, and the Schur approximation S = J_phiphi - J_phij diag(J_jj)^-1 J_jphi (selfp)
that the potential's multigrid is built on. So E holds diag(J_jj) and no copy of J_jj, and
in the potential's place the Schur approximation S itself, computed here into one matrix with
a fixed pattern (pc_fieldsplit_schur_precondition a11): PETSc's selfp would build a new S
next to the old one and a scaled copy of J_jphi at every set-up, the transient on which the
run's peak memory sat. To compute S, J_jphi is scaled in place and copied from J again
afterwards, so no scaled copy is kept; diag(J_jj) is a MATDIAGONAL (one vector). The
preconditioner is the one P = J gives, to round-off. The outer multiplicative split's
coupling J_Te is still taken from J (pc_fieldsplit_off_diag_use_amat): a view of J in its
place (MATSUBMATRIX) saved no peak memory at 245k cells and cost 12% more CPU time (its
product is one with the whole of J), benchmarks/README.md.

Measured by benchmarks/memory.py (fig2a, serial): see benchmarks/README.md, Memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before petsc4py)
import numpy as np
from petsc4py import PETSc

from .linalg import FIELD_SPLIT_SOLVERS


# petsc4py's stubs type MatStructure arguments as the class its int constants live on
_SUBSET = cast(PETSc.Mat.Structure, PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)

SPLIT_STRUCTURE_OPTIONS = ("pc_", "fieldsplit_e_", "mat_schur")
"""Prefixes of solver.petsc_options that can change the preconditioner the nested blocks serve
(fieldsplit_e_pc_type = "lu", say, needs the electrical block as one matrix): with any of them
given, P = J."""


def serves(kind: str, mixed: bool, user_options: Mapping[str, object]) -> bool:
    """Whether a NestedPreconditioner serves solver.linear_solver `kind`: a field-split kind on
    the mixed current whose split structure the user's options leave as it is."""
    return (
        mixed
        and kind in FIELD_SPLIT_SOLVERS
        and not any(key.startswith(SPLIT_STRUCTURE_OPTIONS) for key in user_options)
    )


def positions_in(outer: PETSc.IS, inner: PETSc.IS) -> PETSc.IS:
    """`inner` (a subset of `outer`, both global, sorted on each rank) numbered as the entries
    of the sub-vector of `outer`: rank r's entries of that vector start at the sum of the
    earlier ranks' sizes of `outer`."""
    comm = outer.getComm()
    start = comm.tompi4py().exscan(outer.getLocalSize()) or 0
    local = np.searchsorted(outer.getIndices(), inner.getIndices())
    return PETSc.IS().createGeneral((local + start).astype(PETSc.IntType), comm=comm)


class NestedPreconditioner:
    """P of the field split over `splits` (the first, "e", the mixed electrical block made of
    `current` and `potential`), built from and refreshed with the Jacobian J (same pattern)."""

    def __init__(self, J: PETSc.Mat, splits: Sequence[tuple[str, PETSc.IS]], current: PETSc.IS, potential: PETSc.IS):
        comm = J.getComm()
        electric = splits[0][1]
        self._current = current
        n, N = current.getLocalSize(), current.getSize()
        self._diag_vec = PETSc.Vec().createMPI((n, N), comm=comm)
        self._diag = PETSc.Mat().createDiagonal(self._diag_vec)
        self._set_diagonal(J)
        # (block, rows, cols) copied from J at each update
        self._copies: list[tuple[PETSc.Mat, PETSc.IS, PETSc.IS]] = []

        def copy(rows: PETSc.IS, cols: PETSc.IS) -> PETSc.Mat:
            block = J.createSubMatrix(rows, cols)
            self._copies.append((block, rows, cols))
            return block

        self._j_phi, self._phi_j = copy(current, potential), copy(potential, current)
        self._phi_phi = copy(potential, potential)
        self._potential = potential
        # S = J_phiphi - J_phij diag(J_jj)^-1 J_jphi, in place of J_phiphi (schur_precondition a11)
        self._schur = self._phi_j.matMult(self._j_phi)  # the pattern; the values from _set_schur
        self._set_schur(J)
        inner = [positions_in(electric, current), positions_in(electric, potential)]
        self._electric = PETSc.Mat().createNest(
            [[self._diag, self._j_phi], [self._phi_j, self._schur]], inner, inner, comm=comm
        )
        blocks = [self._electric] + [copy(is_, is_) for _, is_ in splits[1:]]
        k = len(blocks)
        rows = [is_ for _, is_ in splits]
        diagonal = [[blocks[i] if i == j else None for j in range(k)] for i in range(k)]
        self.mat = PETSc.Mat().createNest(diagonal, rows, rows, comm=comm)  # type: ignore[arg-type]
        self._state = J.stateGet()

    def _set_diagonal(self, J: PETSc.Mat) -> None:
        """diag(J_jj): the current rows of J's diagonal."""
        d = J.getDiagonal()
        sub = d.getSubVector(self._current)
        self._diag.setDiagonal(sub)
        d.restoreSubVector(self._current, sub)
        d.destroy()
        self._diag.assemble()

    def _set_schur(self, J: PETSc.Mat) -> None:
        """S = J_phiphi - J_phij diag(J_jj)^-1 J_jphi (PETSc's selfp) from the copied blocks,
        computed into the same matrix each time: PETSc's own selfp builds a new S beside the old
        one and a scaled copy of J_jphi at every set-up, the transient that set the peak memory
        (benchmarks/README.md). The block J_jphi is scaled in place for the product and then
        copied from J again (exact values, and no second matrix of its size)."""
        inverse = self._diag.getDiagonal()
        inverse.reciprocal()
        self._j_phi.diagonalScale(L=inverse)
        inverse.destroy()
        self._phi_j.matMult(self._j_phi, result=self._schur)
        J.createSubMatrix(self._current, self._potential, submat=self._j_phi)
        self._schur.scale(-1.0)
        self._schur.axpy(1.0, self._phi_phi, structure=_SUBSET)

    def update(self, J: PETSc.Mat) -> None:
        """Copy J's values into the blocks (nothing to do when J has not changed since)."""
        if J.stateGet() == self._state:
            return
        self._set_diagonal(J)
        for blk, rows, cols in self._copies:
            J.createSubMatrix(rows, cols, submat=blk)
        self._set_schur(J)
        self.mat.assemble()  # a new state: the field split sets up again (unless told to reuse)
        self._state = J.stateGet()

    def destroy(self) -> None:
        for blk, _, _ in self._copies:
            blk.destroy()
        for obj in (self._diag, self._diag_vec, self._schur, self._electric, self.mat):
            obj.destroy()
