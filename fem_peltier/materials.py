"""Material laws: what each property is as a function of the phase (and, later, of T).

The film switches between an insulating (I) and a metallic (M) phase; its per-cell
metal fraction m (phase.py) blends the two phases' laws (docs/physics.md):

    m(T_c)  = (1 + tanh((T_c - T_centre) / w)) / 2
    sigma   = sigma_I (rho_I / rho_M)^m          (log-linear in m), S/m
    S       = S_I + m (S_M - S_I)               (linear in m), V/K
    kappa   = kappa (film), kappa_substrate      W/(m K), constant per region

Every parameter is a fem.Constant (or the DG0 band centre), so a law is a UFL
expression of the unknowns: Newton's Jacobian stays exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

from .config import ResolvedConfig

_TANH_CLIP = 20.0


@dataclass
class PhaseLaw:
    """UFL material laws of the smoothed phase rule; parameters are fem.Constants."""

    width: fem.Constant  # band width w (K)
    centre: fem.Function  # DG0 band centre (K), carries hysteresis memory
    sigma_i: fem.Constant  # 1/rho_I (S/m)
    log_ratio: fem.Constant  # ln(rho_I / rho_M)
    s_i: fem.Constant  # S_I (V/K)
    s_m: fem.Constant  # S_M (V/K)

    @classmethod
    def create(cls, msh: dmesh.Mesh, cfg: ResolvedConfig, width: float) -> PhaseLaw:
        mat = cfg.material
        Q = fem.functionspace(msh, ("DG", 0))
        centre = fem.Function(Q, name="band_centre_K")
        centre.x.array[:] = mat.t_mit + mat.hysteresis / 2
        c = lambda v: fem.Constant(msh, float(v))  # noqa: E731
        return cls(
            width=c(width),
            centre=centre,
            sigma_i=c(1.0 / mat.rho_insulator),
            log_ratio=c(math.log(mat.rho_insulator / mat.rho_metal)),
            s_i=c(mat.seebeck_insulator),
            s_m=c(mat.seebeck_metal),
        )

    def metal_fraction(self, Tc):
        """m = (1 + tanh((T_c - T_centre)/w)) / 2.

        The argument is clipped to +-20, where tanh is already +-1 in double precision;
        without the clip UFL's derivative of tanh (via cosh) overflows to NaN far
        from the band.
        """
        z = (Tc - self.centre) / self.width
        z = ufl.max_value(ufl.min_value(z, _TANH_CLIP), -_TANH_CLIP)
        return 0.5 * (1.0 + ufl.tanh(z))

    def sigma(self, m):
        """Electrical conductivity sigma_I (rho_I/rho_M)^m (S/m)."""
        return self.sigma_i * ufl.exp(self.log_ratio * m)

    def seebeck(self, m):
        """Seebeck coefficient S_I + m (S_M - S_I) (V/K)."""
        return self.s_i + m * (self.s_m - self.s_i)


@dataclass
class Materials:
    """The film's phase-dependent laws and each region's thermal conductivity."""

    phase: PhaseLaw
    kappa_film: fem.Constant  # W/(m K)
    kappa_substrate: fem.Constant  # W/(m K)

    @classmethod
    def create(cls, msh: dmesh.Mesh, cfg: ResolvedConfig) -> Materials:
        mat = cfg.material
        return cls(
            PhaseLaw.create(msh, cfg, cfg.solver.initial_width),
            fem.Constant(msh, float(mat.kappa)),
            fem.Constant(msh, float(mat.kappa_substrate)),
        )
