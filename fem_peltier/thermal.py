"""Thermal problem on film plus substrate (paper Eq. 7):

    -div(kappa grad T) = rho |j|^2 - T j . grad S

with T = T0 on the heat-sink face and no flux elsewhere. The phase m is constant
in each cell, so grad S is a sum of surface deltas on the facets where the phase
changes (Peltier) plus, when S depends on T, the volume part (dS/dT) grad T
inside each cell (Thomson, -T (dS/dT) j . grad T). The Peltier term is the facet
integral

    + integral over F of avg(T) jump(S, n) . avg(j) avg(w) dS,

jump(S, n) = S('+') n('+') + S('-') n('-'). It releases T (S_I - S_M) I where a
current I crosses from the insulator (higher S) into the metal, and absorbs as
much where it flows the other way. The expression is independent of which
side of a facet is '+'.
"""

from __future__ import annotations

import ufl


def conduction(T, w, kappa, dx) -> ufl.Form:
    """Integral of kappa grad(T) . grad(w) (W)."""
    return kappa * ufl.inner(ufl.grad(T), ufl.grad(w)) * dx


def thomson_density(T, dS_dT, j):
    """Thomson heat per unit volume, -T (dS/dT) j . grad T (W/m^3), dS/dT at fixed phase."""
    return -T * dS_dT * ufl.dot(j, ufl.grad(T))


def peltier_facet_density(T, S, j, n):
    """Interface Peltier heat per unit area, avg(T) jump(S, n) . avg(j) (W/m^2)."""
    jump_S = S("+") * n("+") + S("-") * n("-")
    return ufl.avg(T) * ufl.dot(jump_S, ufl.avg(j))
