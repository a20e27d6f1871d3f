"""The composable parts of the solver core, each on its own (issue 14).

- newton.BorderedNewton knows no physics: it solves a toy problem that is not the film
  (a nonlinear Poisson equation whose source amplitude V is the bordered unknown that
  makes the mean of u hit a target), through the same protocol CoupledProblem uses.
- drive.Drive: the constraint and its derivative in V, for the three modes.
- fields.Unknowns: fields by name cover the state vector exactly once.
- terms / diagnostics: the heat balance and the output fields follow the list of heat
  sources (switching one off removes its heat, not its key).
"""

from __future__ import annotations

import math

import numpy as np
import pytest


def test_drive_constraint_and_derivative():
    from fem_peltier.config import Drive as DriveSection
    from fem_peltier.drive import CURRENT, SOURCE, VOLTAGE, Drive, potential_ratio

    R = 50.0  # crude film resistance, Ohm
    cur = Drive.from_config(DriveSection(current=0.01), R)
    assert (cur.mode, cur.controls_current, cur.target_current(3.0)) == (CURRENT, True, (0.01, 0.0))
    assert cur.initial_voltage(R) == pytest.approx(0.5)
    src = Drive.from_config(DriveSection(current=None, voltage=4.0, load_resistance=150.0), R)
    assert src.mode == SOURCE and src.controls_current
    V, h = 1.3, 1e-6
    I_t, dI = src.target_current(V)
    assert I_t == pytest.approx((4.0 - V) / 150.0)
    fd = (src.target_current(V + h)[0] - src.target_current(V - h)[0]) / (2 * h)
    assert dI == pytest.approx(fd, rel=1e-8)
    assert src.initial_voltage(R) == pytest.approx(4.0 * R / (R + 150.0))  # the divider
    vol = Drive.from_config(DriveSection(current=None, voltage=2.0), R)
    assert vol.mode == VOLTAGE and not vol.controls_current and vol.initial_voltage(R) == 2.0
    assert potential_ratio(0.02, 0.01) == 2.0
    assert potential_ratio(0.02, 0.0) == 1.0 and potential_ratio(0.0, 0.01) == 1.0
    assert potential_ratio(1.0, math.nan) == 1.0


@pytest.mark.parametrize("disc", ["p1", "mixed"])
def test_fields_by_name_cover_the_state(disc):
    from mpi4py import MPI  # noqa: F401

    from dolfinx import mesh as dmesh

    from fem_peltier.fields import CURRENT, POTENTIAL, TEMPERATURE, Unknowns, field_specs

    msh = dmesh.create_unit_cube(MPI.COMM_WORLD, 2, 2, 2)
    uk = Unknowns(msh, field_specs(disc))
    names = [POTENTIAL, TEMPERATURE] + ([CURRENT] if disc == "mixed" else [])
    assert list(uk.fields) == names
    every = np.concatenate([uk.dofs(n) for n in names])
    assert np.array_equal(np.sort(every), np.arange(uk.u.x.array.size))  # each dof once
    uk.u.x.array[:] = np.arange(uk.u.x.array.size, dtype=float)
    for i, n in enumerate(names):  # the named function is the positional sub-function
        assert np.array_equal(uk.function(n).x.array, uk.u.sub(i).collapse().x.array)
    assert uk.dofs("lattice_temperature").size == 0


def _toy_problem():
    """-div((1 + u^2) grad u) = V f on the unit cube, u = 0 on its boundary, with V chosen
    so that the integral of u is a target: a bordered problem that is not the film."""
    from mpi4py import MPI

    import dolfinx.fem.petsc as fpetsc
    import ufl
    from dolfinx import fem
    from dolfinx import mesh as dmesh

    from fem_peltier.linalg import LinearSolver, default_options
    from fem_peltier.newton import BorderedNewton, NewtonForms, jacobian_matrix

    class Toy:
        ptc_scale = 1.0
        controls_current = True
        target = 0.02

        def __init__(self) -> None:
            msh = dmesh.create_unit_cube(MPI.COMM_WORLD, 6, 6, 6)
            self.comm = msh.comm
            W = fem.functionspace(msh, ("Lagrange", 1))
            self.u = fem.Function(W)
            self._V = fem.Constant(msh, 1.0)
            v, du = ufl.TestFunction(W), ufl.TrialFunction(W)
            x = ufl.SpatialCoordinate(msh)
            f = 1.0 + x[0]
            u = self.u
            F = (1 + u**2) * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx - self._V * f * v * ufl.dx
            msh.topology.create_connectivity(2, 3)
            facets = dmesh.exterior_facet_indices(msh.topology)
            self.bcs = [fem.dirichletbc(0.0, fem.locate_dofs_topological(W, 2, facets), W)]
            self.I_form = fem.form(u * ufl.dx)
            self.forms = NewtonForms(fem.form(F), fem.form(ufl.derivative(F, u, du)), fem.form(-f * v * ufl.dx),
                                     fem.form(v * ufl.dx))
            self.lift = fem.Function(W)  # V is no Dirichlet datum: zero lift
            self.temperature_dofs = np.arange(W.dofmap.index_map.size_local)
            self.phase_updates = 0
            A = jacobian_matrix(ufl.derivative(F, u, du), self.comm)
            self.newton = BorderedNewton(self, A, LinearSolver(A, self.comm, default_options("mumps", False)))
            self._fp = fpetsc

        @property
        def V(self) -> float:
            return float(self._V.value)

        @V.setter
        def V(self, value: float) -> None:
            self._V.value = value

        def newton_forms(self):
            return self.forms

        def voltage_lift(self):
            return self.lift

        def target_current(self):
            return self.target, 0.0

        def current(self) -> float:
            return self.comm.allreduce(fem.assemble_scalar(self.I_form), op=MPI.SUM)

        def residual_norm(self, F, current: float) -> float:
            return math.sqrt(F.norm() ** 2 + ((current - self.target) / self.target) ** 2)

        def set_pseudo_time(self, c: float) -> None:
            pass

        def unphysical(self):
            return None

        def update_phase(self) -> None:
            self.phase_updates += 1

        def phase_snapshot(self):
            return np.zeros(1)

        def phase_change(self, snapshot) -> float:
            return 0.0

    return Toy()


def test_bordered_newton_solves_a_problem_it_does_not_know():
    toy = _toy_problem()
    rep = toy.newton.solve(max_steps=20, tol=1e-11, phase_tol=math.inf, t_rtol=math.inf)
    assert rep.converged, rep.reason
    assert rep.steps <= 8, rep.steps  # Newton: a handful of steps from u = 0, V = 1
    assert toy.current() == pytest.approx(toy.target, rel=1e-10)  # the bordered constraint holds
    assert toy.V > 0 and toy.phase_updates >= rep.steps  # the hook ran at every accepted trial
    merit, _ = toy.newton.merit()
    assert merit < 1e-11


def test_heat_balance_and_fields_follow_the_sources(tmp_path):
    from mpi4py import MPI  # noqa: F401

    import fem_peltier as fp

    cfg = fp.load_config(preset="fig2a", overrides=["mesh.size=1e-4", "mesh.electrode_size=2e-5",
                                                     "thermal.peltier_heating=false"])
    res = fp.run(cfg)
    sources = [s.name for s in res.problem.physics.sources]
    assert sources == ["joule", "peltier"]
    for name in sources:  # each source: a summary key and an output field
        assert f"heat_{name}_W" in res.summary and name in res.fields
    assert res.summary["heat_peltier_W"] == 0.0  # switched off: no heat, the key stays
    s = res.summary
    assert abs(s["heat_joule_W"] + s["heat_peltier_W"] - s["heat_to_sink_W"]) <= 1e-9 * s["heat_joule_W"]
