"""The storage term of the transient heat equation and the stored energy (docs/transient.md).

    c(m, T) dT/dt + L dm/dt - div(kappa grad T) = sources          (film)
    c_s dT/dt - div(kappa_s grad T) = 0                             (substrate)

with the time derivatives of a linear multistep scheme (time_scheme.py),

    dT/dt ~ a0 T + a1 T_n + a2 T_(n-1),    dm/dt ~ a0 m(T) + a1 m_n + a2 m_(n-1),

m(T) the phase law of phase.py (so Newton's Jacobian carries the latent heat exactly) and
m_n the metal fractions as solved at the earlier steps. `HeatStorage.attach` adds the term
to a CoupledProblem's residual as one more named Term ("heat_storage"); a steady problem
never has it (a0 = a1 = a2 = 0 would give the same residual, at the cost of one more form).

The stored energy (J) is E = integral of [H(m, T) + L m] over the film + integral of
c_s (T - T0) over the substrate, H the sensible heat above T0 at fixed phase
(materials.film_sensible_energy). Its rate is the storage term's integral (heat_storage_W)
when c does not depend on m; the energy check of a transient compares the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
import ufl
from dolfinx import fem

from .mesh import FILM, SUBSTRATE
from .terms import Term

if TYPE_CHECKING:
    from .coupled import CoupledProblem


class HeatStorage:
    """The storage term of one problem: scheme coefficients, the earlier levels, the forms."""

    def __init__(self, problem: CoupledProblem):
        self.problem = p = problem
        msh = p.msh
        cfg = p.cfg
        mat = cfg.material
        # dT/dt ~ a0 T + a1 T_n + a2 T_(n-1) (1/s): set per step by the time scheme
        self.a = [fem.Constant(msh, 0.0) for _ in range(3)]
        self.T_levels = [fem.Function(p.V_T, name=f"T_level_{k}") for k in (1, 2)]
        self.m_levels = [fem.Function(p.Q0, name=f"m_level_{k}") for k in (1, 2)]
        a0, a1, a2 = self.a
        T = p.T
        dT_dt = a0 * T + a1 * self.T_levels[0] + a2 * self.T_levels[1]
        dm_dt = a0 * p.m_expr + a1 * self.m_levels[0] + a2 * self.m_levels[1]
        self.latent_heat = fem.Constant(msh, float(mat.latent_heat))
        c_film = p.materials.film_heat_capacity(p.m_expr, T)
        c_sub = fem.Constant(msh, float(mat.heat_capacity_substrate))
        # c T w is quadratic in P1: a degree-2 rule integrates it exactly for constant c
        dx = ufl.Measure("dx", domain=msh, subdomain_data=p.fm.cell_tags, metadata={"quadrature_degree": 2})
        rate = (c_film * dT_dt + self.latent_heat * dm_dt) * dx(FILM)
        storage = (c_film * dT_dt + self.latent_heat * dm_dt) * p.w_test * dx(FILM)
        t0 = cfg.thermal.t0
        energy = (p.materials.film_sensible_energy(p.m_expr, T, t0) + self.latent_heat * p.m_expr) * dx(FILM)
        latent = self.latent_heat * p.m_expr * dx(FILM)
        if p.has_substrate:
            rate = rate + c_sub * dT_dt * dx(SUBSTRATE)
            storage = storage + c_sub * dT_dt * p.w_test * dx(SUBSTRATE)
            energy = energy + c_sub * (T - t0) * dx(SUBSTRATE)
        self.term = Term("heat_storage", "thermal", storage)
        self.rate_form = fem.form(rate)
        self.energy_form = fem.form(energy)
        self.latent_form = fem.form(latent)

    @classmethod
    def attach(cls, problem: CoupledProblem) -> HeatStorage:
        """Add the storage term to the problem's residual (and recompile its forms)."""
        storage = cls(problem)
        problem.physics.terms.append(storage.term)
        problem.storage = storage
        problem._build_forms(problem.interface_facets)
        return storage

    def set_coefficients(self, a0: float, a1: float, a2: float) -> None:
        """dT/dt ~ a0 T + a1 T_n + a2 T_(n-1) (1/s)."""
        for c, v in zip(self.a, (a0, a1, a2), strict=True):
            c.value = float(v)

    def push_level(self) -> None:
        """The present T and m become level n (and level n the level n - 1)."""
        p = self.problem
        self.T_levels[1].x.array[:] = self.T_levels[0].x.array
        self.m_levels[1].x.array[:] = self.m_levels[0].x.array
        self.T_levels[0].x.array[:] = p.u.x.array[p.map_T]
        self.m_levels[0].x.array[:] = p.m.x.array

    def levels(self) -> dict[str, np.ndarray]:
        """The earlier levels as arrays (a checkpoint)."""
        return {
            "T_n": self.T_levels[0].x.array.copy(),
            "T_nm1": self.T_levels[1].x.array.copy(),
            "m_n": self.m_levels[0].x.array.copy(),
            "m_nm1": self.m_levels[1].x.array.copy(),
        }

    def _global(self, form: fem.Form) -> float:
        return self.problem.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    def rate_W(self) -> float:
        """integral of c dT/dt + L dm/dt (W): heat going into storage in the present step."""
        return self._global(self.rate_form)

    def stored_energy_J(self) -> float:
        """Sensible heat above T0 plus latent heat L m (J)."""
        return self._global(self.energy_form)

    def latent_energy_J(self) -> float:
        """The latent part, integral of L m over the film (J)."""
        return self._global(self.latent_form)
