"""Material laws: what each property is as a function of the phase and of T.

The film switches between an insulating (I) and a metallic (M) phase; its per-cell
metal fraction m (phase.py) blends the two phases' laws (docs/physics.md):

    m(T_c)  = (1 + tanh((T_c - T_centre) / w)) / 2
    sigma   = sigma_I(T) (rho_I(T) / rho_M(T))^m        (log-linear in m), S/m
    S       = S_I(T) + m (S_M(T) - S_I(T))               (linear in m), V/K
    kappa   = kappa_I(T) + m (kappa_M(T) - kappa_I(T))   film (linear in m), W/(m K)
    kappa_substrate                                      constant

Each phase's property is a number or a temperature law (property_laws.py) evaluated
at the local temperature T (the P1 unknown, at the quadrature points). A constant
property is a fem.Constant and the expressions are exactly the constant-property
ones (sigma_I exp(ln(rho_I/rho_M) m), kappa without m when kappa_metal = kappa);
a law is a UFL expression of T: Newton's Jacobian stays exact either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

from .config import ResolvedConfig
from .property_laws import Property, PropertyLaw, is_constant

_TANH_CLIP = 20.0


@dataclass
class PhaseLaw:
    """UFL material laws of the smoothed phase rule; constant parameters are fem.Constants."""

    width: fem.Constant  # band width w (K)
    centre: fem.Function  # DG0 band centre (K), carries hysteresis memory
    width_scale: fem.Function  # DG0 factor on w per cell (1; below 1 near a refined front, solver.band_cells)
    sigma_i: fem.Constant  # 1/rho_I (S/m) (of a rho_I law: at T0, unused by the forms)
    log_ratio: fem.Constant  # ln(rho_I / rho_M) (of laws: at T0, unused by the forms)
    s_i: fem.Constant  # S_I (V/K) (of a law: at T0, unused by the forms)
    s_m: fem.Constant  # S_M (V/K) (of a law: at T0, unused by the forms)
    laws: dict[str, PropertyLaw] = field(default_factory=dict)  # the temperature laws by property name
    t_range: tuple[float, float] = (0.0, math.inf)  # where the laws are evaluated (config.law_range)

    @classmethod
    def create(cls, msh: dmesh.Mesh, cfg: ResolvedConfig, width: float) -> PhaseLaw:
        mat = cfg.material
        t0 = cfg.thermal.t0
        Q = fem.functionspace(msh, ("DG", 0))
        centre = fem.Function(Q, name="band_centre_K")
        centre.x.array[:] = mat.t_mit + mat.hysteresis / 2
        width_scale = fem.Function(Q, name="band_width_scale")
        width_scale.x.array[:] = 1.0
        c = lambda v: fem.Constant(msh, float(v))  # noqa: E731
        rho_i, rho_m = mat.at("rho_insulator", t0), mat.at("rho_metal", t0)
        names = ("rho_insulator", "rho_metal", "seebeck_insulator", "seebeck_metal")
        return cls(
            width=c(width),
            centre=centre,
            width_scale=width_scale,
            sigma_i=c(1.0 / rho_i),
            log_ratio=c(math.log(rho_i / rho_m)),
            s_i=c(mat.at("seebeck_insulator", t0)),
            s_m=c(mat.at("seebeck_metal", t0)),
            laws={n: getattr(mat, n) for n in names if isinstance(getattr(mat, n), PropertyLaw)},
            t_range=cfg.law_range(),
        )

    def metal_fraction(self, Tc):
        """m = (1 + tanh((T_c - T_centre)/(w s))) / 2, s the cell's width_scale (1 by default).

        The argument is clipped to +-20, where tanh is already +-1 in double precision;
        without the clip UFL's derivative of tanh (via cosh) overflows to NaN far
        from the band.
        """
        z = (Tc - self.centre) / (self.width * self.width_scale)
        z = ufl.max_value(ufl.min_value(z, _TANH_CLIP), -_TANH_CLIP)
        return 0.5 * (1.0 + ufl.tanh(z))

    @property
    def temperature_dependent(self) -> bool:
        return bool(self.laws)

    def _log_rho(self, name: str, T, constant: float):
        law = self.laws.get(name)
        return law.log_ufl(T, self.t_range) if law is not None else constant

    def sigma(self, m, T=None):
        """Electrical conductivity sigma_I(T) (rho_I(T)/rho_M(T))^m (S/m); constants: sigma_I exp(ln(rho_I/rho_M) m)."""
        if "rho_insulator" not in self.laws and "rho_metal" not in self.laws:
            return self.sigma_i * ufl.exp(self.log_ratio * m)
        ln_i = self._log_rho("rho_insulator", T, -math.log(float(self.sigma_i.value)))
        ln_m = self._log_rho("rho_metal", T, -math.log(float(self.sigma_i.value)) - float(self.log_ratio.value))
        return ufl.exp(-ln_i + m * (ln_i - ln_m))

    def _seebeck_phase(self, name: str, T, constant: fem.Constant):
        law = self.laws.get(name)
        return law.to_ufl(T, self.t_range) if law is not None else constant

    def seebeck(self, m, T=None):
        """Seebeck coefficient S_I(T) + m (S_M(T) - S_I(T)) (V/K)."""
        s_i = self._seebeck_phase("seebeck_insulator", T, self.s_i)
        s_m = self._seebeck_phase("seebeck_metal", T, self.s_m)
        return s_i + m * (s_m - s_i)

    def seebeck_slope(self, m, T):
        """dS/dT at fixed phase, S_I'(T) + m (S_M'(T) - S_I'(T)) (V/K^2): what the Thomson heat
        -T (dS/dT) j . grad T needs; None when both Seebeck coefficients are constants."""
        if "seebeck_insulator" not in self.laws and "seebeck_metal" not in self.laws:
            return None
        Tv = ufl.variable(T)
        zero = ufl.as_ufl(0.0)
        d = {
            n: ufl.diff(self.laws[n].to_ufl(Tv, self.t_range), Tv) if n in self.laws else zero
            for n in ("seebeck_insulator", "seebeck_metal")
        }
        return d["seebeck_insulator"] + m * (d["seebeck_metal"] - d["seebeck_insulator"])


@dataclass
class Materials:
    """The film's phase-dependent laws and each region's thermal conductivity."""

    phase: PhaseLaw
    kappa_film: fem.Constant  # W/(m K): kappa (of a law: at T0, unused by the forms)
    kappa_substrate: fem.Constant  # W/(m K)
    kappa_laws: dict[str, Property] = field(default_factory=dict)  # "kappa", "kappa_metal" as configured
    heat_capacity_laws: dict[str, Property] = field(default_factory=dict)  # "heat_capacity", "heat_capacity_metal"

    @classmethod
    def create(cls, msh: dmesh.Mesh, cfg: ResolvedConfig) -> Materials:
        mat = cfg.material
        return cls(
            PhaseLaw.create(msh, cfg, cfg.solver.initial_width),
            fem.Constant(msh, mat.at("kappa", cfg.thermal.t0)),
            fem.Constant(msh, float(mat.kappa_substrate)),
            {"kappa": mat.kappa, "kappa_metal": mat.kappa_metal},
            {"heat_capacity": mat.heat_capacity, "heat_capacity_metal": mat.heat_capacity_metal},
        )

    def _blend(self, laws: dict[str, Property], insulator: str, metal: str, m, T):
        """p_I(T) + m (p_M(T) - p_I(T)) of a property given per phase (a number or a law)."""
        t_range = self.phase.t_range

        def phase(prop: Property):
            return prop.to_ufl(T, t_range) if isinstance(prop, PropertyLaw) else prop

        p_i, p_m = laws[insulator], laws[metal]
        if p_m == p_i:
            return phase(p_i)
        return phase(p_i) + m * (phase(p_m) - phase(p_i))

    def film_heat_capacity(self, m, T):
        """Volumetric heat capacity of the film c_I(T) + m (c_M(T) - c_I(T)) (J/(m^3 K))."""
        return self._blend(self.heat_capacity_laws, "heat_capacity", "heat_capacity_metal", m, T)

    def film_sensible_energy(self, m, T, t0: float):
        """Sensible heat per unit volume above t0 at fixed phase, integral from t0 to T of c(m, s) ds
        (J/m^3): c (T - t0) for constants, 3-point Gauss-Legendre in s for laws (exact for laws up
        to degree 5 in T, the linear law exactly)."""
        laws = self.heat_capacity_laws
        if all(is_constant(v) for v in laws.values()):
            return self.film_heat_capacity(m, T) * (T - t0)
        nodes = ((0.5 - math.sqrt(15) / 10, 5 / 18), (0.5, 8 / 18), (0.5 + math.sqrt(15) / 10, 5 / 18))
        total = 0
        for xi, weight in nodes:
            total = total + weight * self.film_heat_capacity(m, t0 + xi * (T - t0))
        return total * (T - t0)

    def law(self, prop: Property, T):
        """A property (a number or a law of T) as a UFL expression of the temperature T."""
        return prop.to_ufl(T, self.phase.t_range) if isinstance(prop, PropertyLaw) else prop

    def film_kappa(self, m, T):
        """The film's thermal conductivity kappa_I(T) + m (kappa_M(T) - kappa_I(T)) (W/(m K));
        the constant kappa (no m) when kappa_metal is kappa (the default)."""
        k_i, k_m = self.kappa_laws.get("kappa", 0.0), self.kappa_laws.get("kappa_metal", 0.0)
        if is_constant(k_i) and k_i == k_m:
            return self.kappa_film
        t_range = self.phase.t_range

        def phase(prop: Property):
            return prop.to_ufl(T, t_range) if isinstance(prop, PropertyLaw) else prop

        ki = phase(k_i) if isinstance(k_i, PropertyLaw) else self.kappa_film
        if k_m == k_i:
            return ki
        return ki + m * (phase(k_m) - ki)
