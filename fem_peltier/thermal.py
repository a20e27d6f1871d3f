"""Thermal problem on film plus substrate (paper Eq. 7):

    -div(kappa grad T) = rho |j|^2 - T j . grad S

with T = T0 on the heat-sink face and no flux elsewhere. Because S is constant
in each cell, grad S is a sum of surface deltas on the facets where the phase
changes, and the Peltier term becomes the facet integral

    + integral over F of avg(T) jump(S, n) . avg(j) avg(w) dS,

jump(S, n) = S('+') n('+') + S('-') n('-'). It releases T (S_I - S_M) I where a
current I crosses from the insulator (higher S) into the metal, and absorbs as
much where it flows the other way. The expression is independent of which
side of a facet is '+'.

At the film/electrode contacts (material.seebeck_electrode = S_e) the same physics
releases T (S - S_e) j . n per unit area, n the outward normal of the film: heating
where current leaves the film into a metal of lower S, cooling where it enters from one.
"""

from __future__ import annotations

import ufl


def conduction(T, w, kappa, dx) -> ufl.Form:
    """Integral of kappa grad(T) . grad(w) (W)."""
    return kappa * ufl.inner(ufl.grad(T), ufl.grad(w)) * dx


def peltier_facet_density(T, S, j, n):
    """Interface Peltier heat per unit area, avg(T) jump(S, n) . avg(j) (W/m^2)."""
    jump_S = S("+") * n("+") + S("-") * n("-")
    return ufl.avg(T) * ufl.dot(jump_S, ufl.avg(j))


def contact_peltier_density(T, S, S_electrode, j, n):
    """Contact Peltier heat per unit area on a film boundary facet, T (S - S_e) j . n (W/m^2)."""
    return T * (S - S_electrode) * ufl.dot(j, n)
