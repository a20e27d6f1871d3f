"""The unknowns of the coupled problem, addressed by name.

One mixed function space holds every field; each field is known by its name
("potential", "temperature", "current"), never by its position in the mixed
element. A new unknown (a lattice temperature, say) is one more FieldSpec.

    current discretization "p1":    potential P1 (V), temperature P1 (K)
    current discretization "mixed": potential DG0 (V), temperature P1 (K),
                                    current Raviart-Thomas RT1 (A/m^2)
"""

from __future__ import annotations

from dataclasses import dataclass

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)
import basix.ufl
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

POTENTIAL = "potential"
TEMPERATURE = "temperature"  # T; the lattice's T_l in the two-temperature model
EXCESS = "electron_excess"  # theta = T_e - T_l of the two-temperature model (K)
CURRENT = "current"


@dataclass(frozen=True)
class FieldSpec:
    """A field's name, finite element family and degree, and unit (for output names)."""

    name: str
    family: str
    degree: int
    unit: str


def field_specs(current_discretization: str, two_temperatures: bool = False) -> list[FieldSpec]:
    """The unknowns of a current discretization, in the order of the mixed element (with
    `two_temperatures` the electrons' excess theta = T_e - T_l, P1, last: the temperature field is
    then the lattice's)."""
    if current_discretization == "mixed":
        specs = [
            FieldSpec(POTENTIAL, "DG", 0, "V"),
            FieldSpec(TEMPERATURE, "Lagrange", 1, "K"),
            FieldSpec(CURRENT, "RT", 1, "A/m^2"),
        ]
    else:
        specs = [FieldSpec(POTENTIAL, "Lagrange", 1, "V"), FieldSpec(TEMPERATURE, "Lagrange", 1, "K")]
    if two_temperatures:
        specs.append(FieldSpec(EXCESS, "Lagrange", 1, "K"))
    return specs


@dataclass
class Field:
    """One unknown: its subspace of the mixed space, collapsed space, dofs and UFL symbols."""

    spec: FieldSpec
    index: int  # position in the mixed element (internal: address fields by name)
    subspace: fem.FunctionSpace  # U.sub(i): for boundary conditions in the parent numbering
    space: fem.FunctionSpace  # the collapsed space
    dofs: np.ndarray  # positions of this field's local dofs (owned + ghosts) in the state vector
    symbol: ufl.core.expr.Expr  # the field in the state function (ufl.split)
    test: ufl.core.expr.Expr  # its test function


class Unknowns:
    """The state function u on the mixed space and its fields by name."""

    def __init__(self, msh: dmesh.Mesh, specs: list[FieldSpec]):
        cell = msh.basix_cell()
        elements = [basix.ufl.element(s.family, cell, s.degree) for s in specs]
        self.space = fem.functionspace(msh, basix.ufl.mixed_element(elements))
        self.u = fem.Function(self.space, name="state")
        symbols = ufl.split(self.u)
        tests = ufl.TestFunctions(self.space)
        self.fields: dict[str, Field] = {}
        for i, spec in enumerate(specs):
            sub = self.space.sub(i)
            space, dofs = sub.collapse()
            self.fields[spec.name] = Field(
                spec, i, sub, space, np.asarray(dofs, dtype=np.int32).ravel(), symbols[i], tests[i]
            )

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def dofs(self, name: str) -> np.ndarray:
        """Local positions of a field's dofs in u (empty if the field is not an unknown here)."""
        return self.fields[name].dofs if name in self.fields else np.zeros(0, dtype=np.int32)

    def values(self, name: str) -> np.ndarray:
        """A field's local values (owned + ghosts; a view, not a copy)."""
        return self.u.x.array[self.fields[name].dofs]

    def function(self, name: str, label: str | None = None) -> fem.Function:
        """A field of the state as a Function on its own (collapsed) space, named `label`."""
        f = self.fields[name]
        out = fem.Function(f.space, name=label or name)
        out.x.array[:] = self.u.x.array[f.dofs]
        return out

    def interpolate(self, name: str, f) -> None:
        """Interpolate a callable x -> values (or a Function) into one field of the state."""
        self.u.sub(self.fields[name].index).interpolate(f)

    @property
    def n_global(self) -> int:
        """Number of unknowns over all ranks."""
        imap = self.space.dofmap.index_map
        return imap.size_global * self.space.dofmap.index_map_bs
