"""The Newton Jacobian: its preallocated sparsity holds every Peltier facet coupling,
and its action matches a central difference of the residual.

With every film cell inside the transition band, every interior film facet carries the
Peltier term. Assembling into the preallocated matrix raises if any entry is missing
from the pattern (new nonzero locations are an error there); the directional-derivative
check then catches a wrong entry (a Jacobian 1% off gives a relative error of 1e-2,
`jacobian_check.py ... broken`). Serial and under mpirun -n 2, where facets on the
partition boundary couple rows owned by the other rank.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import helper_json  # tests/cli_runner.py

HERE = Path(__file__).parent


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("disc", ["p1", "mixed"])
def test_jacobian_pattern_and_action(disc, ranks):
    out = helper_json(HERE / "jacobian_check.py", disc, ranks=ranks)
    print(out)
    assert out["peltier_facets"] == out["interior_film_facets"] > 1000
    assert out["whole_rel_error"] < 1e-6
    assert out["peltier_rel_error"] < 1e-6
    if disc == "mixed":
        assert out["peltier_volume_rel_error"] < 1e-6


@pytest.mark.parametrize("disc", ["p1", "mixed"])
def test_jacobian_with_temperature_laws(disc):
    """Every property a temperature law (Arrhenius, power, linear, table, exponential) and the
    Thomson heat on: the laws are UFL expressions of T, so the Jacobian is still exact."""
    out = helper_json(HERE / "jacobian_check.py", disc, "laws", ranks=1)
    print(out)
    assert out["peltier_facets"] == out["interior_film_facets"] > 1000
    assert out["whole_rel_error"] < 1e-6
    assert out["peltier_rel_error"] < 1e-6
    assert out["thomson_rel_error"] < 1e-6
    if disc == "mixed":
        assert out["peltier_volume_rel_error"] < 1e-6


def test_jacobian_check_sees_a_wrong_law_jacobian():
    out = helper_json(HERE / "jacobian_check.py", "mixed", "laws", "broken", ranks=1)
    assert out["whole_rel_error"] > 1e-3


@pytest.mark.parametrize(("disc", "ranks"), [("p1", 1), ("mixed", 1), ("mixed", 2)])
def test_jacobian_with_seebeck_emf_and_contacts(disc, ranks):
    """The same with j = -sigma (grad phi + S grad T) and the contact Peltier heat on."""
    out = helper_json(HERE / "jacobian_check.py", disc, "emf", ranks=ranks)
    print(out)
    assert out["peltier_facets"] == out["interior_film_facets"] > 1000
    for part in ("whole", "peltier", "electrical", "contact"):
        assert out[f"{part}_rel_error"] < 1e-6, part
