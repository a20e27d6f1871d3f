"""Closed forms of docs/physics.md, Closed-form checks (paper Eqs. 8-14), pure numpy/math, SI units.

h is the film thickness, zeta = h - z the depth below the top, j_cr the critical current density.
"""

from __future__ import annotations

import math

import numpy as np


def j_critical(rho_i: float, kappa: float, h: float, t0: float, t_mit: float) -> float:
    """Eq. 9: j_cr = sqrt(2 (T_MIT - T0) kappa / (rho_I h^2)) (A/m^2)."""
    return math.sqrt(2 * (t_mit - t0) * kappa / (rho_i * h**2))


def eq8_profile(z: np.ndarray, j0: float, rho_i: float, kappa: float, h: float, t0: float) -> np.ndarray:
    """Eq. 8: T(z) = T0 + rho_I j0^2 (h^2 - zeta^2) / (2 kappa), zeta = h - z (K)."""
    return t0 + rho_i * j0**2 * (h**2 - (h - z) ** 2) / (2 * kappa)


def eq11_thickness(ratio: float, r: float) -> float:
    """Eq. 11: d/h = r s / (1 - (1 - r) s), s = sqrt(1 - (j_cr/j0)^2); 0 below j_cr."""
    if ratio <= 1.0:
        return 0.0
    s = math.sqrt(1 - 1 / ratio**2)
    return r * s / (1 - (1 - r) * s)


def eq11_voltage(ratio: float, j_cr: float, rho_i: float, rho_m: float, h: float, length: float) -> float:
    """V = E L with E = rho_M j_M, j_M = h j0 / (d + (h - d) r) above j_cr; V = rho_I j0 L below (V)."""
    j0 = ratio * j_cr
    if ratio <= 1.0:
        return rho_i * j0 * length
    r = rho_m / rho_i
    d = eq11_thickness(ratio, r) * h
    return rho_m * h * j0 / (d + (h - d) * r) * length


def eq14_radius(h: float, t_mit: float, current: float, delta_s: float, kappa: float, delta_t: float) -> float:
    """Eq. 14: r_c = sqrt(2 h T_MIT |I| Delta S / (pi kappa Delta T)) (m)."""
    return math.sqrt(2 * h * t_mit * abs(current) * delta_s / (math.pi * kappa * delta_t))


def observed_order(f: list[float], ratio: float) -> float:
    """Observed order p = ln((f1 - f2) / (f2 - f3)) / ln(ratio) of three meshes refined by `ratio`."""
    d1, d2 = f[0] - f[1], f[1] - f[2]
    if d2 == 0 or d1 / d2 <= 0:
        return math.nan
    return math.log(d1 / d2) / math.log(ratio)


def eq_b5_slab(
    z: np.ndarray, h: float, q: float, kappa_e: float, kappa_l: float, gamma: float, t0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. B5 as derived in docs/physics.md (Two temperatures): (T_l(z), T_e(z)) of a slab 0 < z < h
    heated by q (W/m^3) in the electrons, lattice at t0 at the sink z = 0, electrons adiabatic
    there, both adiabatic at z = h; alpha^2 = gamma (1/kappa_e + 1/kappa_l):

        T_l = t0 + q/kappa [h z - z^2/2 + (kappa_e/kappa_l) h (cosh(alpha h) - cosh(alpha (h - z)))
                                                               / (alpha sinh(alpha h))]
        T_e - T_l = q kappa_l / (gamma kappa) + q h cosh(alpha (h - z)) / (kappa_l alpha sinh(alpha h))
    """
    kappa = kappa_e + kappa_l
    alpha = math.sqrt(gamma * kappa / (kappa_e * kappa_l))
    s = alpha * math.sinh(alpha * h)
    z = np.asarray(z, dtype=float)
    T_l = t0 + q / kappa * (
        h * z - z**2 / 2 + (kappa_e / kappa_l) * h * (math.cosh(alpha * h) - np.cosh(alpha * (h - z))) / s
    )
    theta = q * kappa_l / (gamma * kappa) + q * h * np.cosh(alpha * (h - z)) / (kappa_l * s)
    return T_l, T_l + theta
