"""The residual as a sum of named physics terms (docs/physics.md).

    F(u; v) = F_e                                   electrical conduction
            + integral of kappa grad T . grad w     heat conduction, film and substrate
            - sum over heat sources of integral of q w   (Joule in the film, Peltier on the
                                                          metal/insulator facets, ...)

A `Term` is a fixed piece of the residual; a `HeatSource` is a heat density with
a name, where it acts ("film": a volume density in W/m^3 over the film cells;
"interface": a facet density in W/m^2 on the phase-boundary facets; "contacts": a
facet density in W/m^2 on the two electrode patches) and an on/off
switch. The residual, the heat balance (diagnostics.heat_terms) and the output
fields (output.output_fields) all loop over the same list of sources, so a new
source is one more entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)
import ufl
from dolfinx import fem

from . import thermal
from .mesh import ELECTRODE_NEG, ELECTRODE_POS, FILM, SUBSTRATE

INTERFACE = 1  # tag of the phase-boundary facets in the interface MeshTags
FILM_CELLS = "film"
INTERFACE_FACETS = "interface"
CONTACT_FACETS = "contacts"  # the film/electrode contacts: every electrode's patch


@dataclass
class Measures:
    """Where the terms act: cells (tagged), outer facets (tagged) and the phase-boundary facets."""

    dx: ufl.Measure
    ds: ufl.Measure
    dS: ufl.Measure  # interior facets tagged INTERFACE: replaced when the phase boundary moves
    n: ufl.core.expr.Expr  # outward facet normal
    contacts: tuple[int, ...] = (ELECTRODE_NEG, ELECTRODE_POS)  # facet tags of the electrode contacts

    def of(self, where: str) -> ufl.Measure:
        """The measure of a source's `where`: the film cells, the interface facets or the contacts."""
        if where == CONTACT_FACETS:
            return self.ds(self.contacts)
        return self.dx(FILM) if where == FILM_CELLS else self.dS(INTERFACE)


@dataclass
class Term:
    """A fixed piece of the residual, by name: F += form."""

    name: str
    equation: str  # "electrical" or "thermal"
    form: ufl.Form


@dataclass
class HeatSource:
    """A heat source q of the thermal equation: F -= integral of q w (W).

    `density` already carries the switch: W/m^3 where="film", W/m^2 where="interface" or
    where="contacts".
    """

    name: str  # "joule", "peltier", "contact_peltier": the summary key is heat_<name>_W
    density: ufl.core.expr.Expr
    switch: fem.Constant  # 1.0 on, 0.0 off
    where: str  # FILM_CELLS, INTERFACE_FACETS or CONTACT_FACETS
    output_name: str  # name of its output field (unit in the name)
    # the source tested with w as an equivalent form without interior facets (w -> the integral
    # of q w), which the residual then uses: the interface Peltier heat of the mixed current
    # (thermal.peltier_path_form); None: the density tested where it acts
    tested: Callable[[Any], ufl.Form] | None = None

    @property
    def on_facets(self) -> bool:
        """Whether its residual is an integral over the interface facets."""
        return self.where == INTERFACE_FACETS and self.tested is None

    @property
    def summary_key(self) -> str:
        return f"heat_{self.name}_W"

    def power(self, measures: Measures) -> ufl.Form:
        """Heat released (W): integral of q over where it acts."""
        return self.density * measures.of(self.where)

    def residual(self, w, measures: Measures) -> ufl.Form:
        """Its part of the residual, -integral of q w (the facet average of w on an interface;
        `tested` instead where given)."""
        if self.tested is not None:
            return -self.tested(w)
        test = ufl.avg(w) if self.where == INTERFACE_FACETS else w
        return -(self.density * test * measures.of(self.where))


@dataclass
class Physics:
    """Every term of the residual and every heat source, in assembly order."""

    terms: list[Term]
    sources: list[HeatSource]
    w: ufl.core.expr.Expr  # the temperature test function

    def residual(self, measures: Measures, interface: bool = True) -> ufl.Form:
        """F = sum of the terms - sum of the sources tested with w (without the interface
        sources if not `interface`: their Jacobian entries lie in the volume pattern)."""
        F = self.terms[0].form
        for term in self.terms[1:]:
            F = F + term.form
        for src in self.sources:
            if interface or not src.on_facets:
                F = F + src.residual(self.w, measures)
        return F

    @property
    def on_facets(self) -> bool:
        """Whether the residual has interior-facet (interface) integrals."""
        return any(src.on_facets for src in self.sources)

    def interface_residual(self, measures: Measures) -> ufl.Form:
        """The interface sources alone tested with w: F's part on the phase-boundary facets."""
        parts = [src.residual(self.w, measures) for src in self.sources if src.on_facets]
        F = parts[0]
        for part in parts[1:]:
            F = F + part
        return F

    def source(self, name: str) -> HeatSource:
        return next(s for s in self.sources if s.name == name)


def conduction_terms(T, w, kappa_film, kappa_substrate, dx, has_substrate: bool) -> list[Term]:
    """Heat conduction in the film and, if there is one, in the substrate."""
    terms = [Term("heat_conduction_film", "thermal", thermal.conduction(T, w, kappa_film, dx(FILM)))]
    if has_substrate:
        terms.append(
            Term("heat_conduction_substrate", "thermal", thermal.conduction(T, w, kappa_substrate, dx(SUBSTRATE)))
        )
    return terms
