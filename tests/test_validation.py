"""Quick versions of the validation suite (fem_peltier/validation.py, regime.py, figures.py).

Each test runs a check on a coarse mesh and asserts its rows pass, so a broken
closed form, a wrong Peltier sign, a lost metal layer or a misclassified phase
pattern fails here. The long versions run in benchmarks/validation_full.sh.
"""

from __future__ import annotations

import math

import numpy as np
import pytest


def _failed(ch) -> list[str]:
    return [f"{r.quantity}: computed {r.computed:.6g}, expected {r.expected}, error {r.error}, tol {r.tolerance}"
            for r in ch.rows if r.passed is False]


# ---------------------------------------------------------------------------------------
# Closed forms (no solve)


def test_closed_forms():
    from fem_peltier import validation as v

    # Eq. 9 with the slab preset: 2.828e5 A/m^2 (h = 50 um)
    assert v.j_critical(0.06, 0.1, 5e-5, 300.0, 360.0) == pytest.approx(2.8284271e5, rel=1e-7)
    # Eq. 11: d = 0 at j_cr, d -> h as j0 -> infinity, d/h = 0.22645 at 1.5 j_cr with r = 0.1
    assert v.eq11_thickness(1.0, 0.1) == 0.0
    assert v.eq11_thickness(1.5, 0.1) == pytest.approx(0.0745356 / (1 - 0.9 * 0.745356), rel=1e-5)
    assert v.eq11_thickness(1e4, 0.1) == pytest.approx(1.0, abs=1e-3)
    # V is continuous at j_cr (metal layer of zero thickness = Ohmic insulator)
    jcr, L, h = 2.8284271e5, 1e-3, 5e-5
    below = v.eq11_voltage(1.0, jcr, 0.06, 0.006, h, L)
    above = v.eq11_voltage(1.0 + 1e-9, jcr, 0.06, 0.006, h, L)
    assert above == pytest.approx(below, rel=1e-4)
    # ... and N-shaped: falls just above j_cr, rises again at large j0
    assert v.eq11_voltage(1.5, jcr, 0.06, 0.006, h, L) < below
    assert v.eq11_voltage(10.0, jcr, 0.06, 0.006, h, L) > v.eq11_voltage(3.0, jcr, 0.06, 0.006, h, L)
    # Eq. 14 with the paper's numbers (h = 0.2 mm, I = 10 mA, dS = 2 mV/K): about 0.39 mm
    assert v.eq14_radius(2e-4, 360.0, 0.01, 2e-3, 0.1, 60.0) == pytest.approx(3.909e-4, rel=1e-3)
    # observed order of a second-order sequence
    f = [1 + 0.5 * hh**2 for hh in (0.4, 0.2, 0.1)]
    assert v.observed_order(f, 2.0) == pytest.approx(2.0, rel=1e-12)
    assert math.isnan(v.observed_order([1.0, 2.0, 1.5], 2.0))


# ---------------------------------------------------------------------------------------
# Solved checks on coarse meshes


def test_eq8_eq9_quick():
    from fem_peltier import validation as v

    ch = v.check_eq8_eq9("quick")
    assert ch.passed, _failed(ch)


def test_peltier_junction_quick():
    from fem_peltier import validation as v

    ch = v.check_peltier_junction("quick")
    assert ch.passed, _failed(ch)
    # heating for current insulator -> metal (+I), cooling for the reverse
    assert ch.data["0.001"]["Q_facet"] > 0 > ch.data["-0.001"]["Q_facet"]


def test_eq11_and_vi_quick(tmp_path):
    from fem_peltier import validation as v

    ch = v.check_eq11_vi("quick", outdir=tmp_path)
    assert ch.passed, _failed(ch)
    assert (tmp_path / "fig1b_vi.png").stat().st_size > 10_000


def test_eq14_quick():
    """Peltier-only: a seeded metal nucleus survives at the negative electrode, radius near Eq. 14."""
    from fem_peltier import validation as v

    h, e = 2.5e-5, 5e-5
    res = v.solve_eq14(0.01, h, (24, 24, 2), e)
    assert res.converged, res.summary["reason"]
    s = res.summary
    assert s["heat_joule_W"] == 0.0
    assert s["heat_peltier_W"] > 0
    assert s["heat_balance_rel"] < 1e-6
    rad = v.metal_radius(res.problem)
    rc = v.eq14_radius(h, 360.0, 0.01, 2e-3, 0.1, 60.0)
    assert 0.5 < rad["r_area"] / rc < 1.5, (rad, rc)
    # the metal is at the negative electrode (x near 0) only
    x0, x1 = s["metal_top_x_range_m"]
    assert x0 == 0.0 and x1 < 0.5e-3


# ---------------------------------------------------------------------------------------
# Regime classification on prescribed phase patterns (no solve)


@pytest.fixture(scope="module")
def box_problem():
    import fem_peltier as fp
    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.coupled import CoupledProblem

    cfg = fp.load_config(preset="fig2a", overrides=["geometry.electrode_width=2.5e-4"]).resolved()
    return CoupledProblem(cfg, box_film_mesh(cfg, (20, 10, 4)))


@pytest.mark.parametrize("pattern, expected", [
    ("none", "insulating"), ("neg", "negative only"), ("pos", "positive only"), ("both", "both"),
    ("all", "channel"), ("middle", "detached"),
])
def test_classify_patterns(box_problem, pattern, expected):
    from fem_peltier.regime import classify

    p = box_problem
    L = p.cfg.geometry.length
    xc = p.xc.x.array.reshape(-1, 3)
    x, z = xc[:, 0], xc[:, 2]
    top = z > 0.5 * p.cfg.geometry.thickness
    masks = {"none": np.zeros_like(top), "neg": top & (x < 0.3 * L), "pos": top & (x > 0.7 * L),
             "both": top & ((x < 0.3 * L) | (x > 0.7 * L)), "all": top, "middle": top & (np.abs(x - L / 2) < 0.2 * L)}
    p.prescribe_phase(masks[pattern])
    assert classify(p) == expected
    assert classify(p, converged=False) == "not converged"


def test_regime_point_insulating():
    """Tiny J and P: the film stays insulating (a solved point of the map, coarse mesh).

    (With the mixed current, J = 0.01 already leaves small metal caps under both narrow patches.)
    """
    from fem_peltier.regime import drive_for, point_config, regime_point

    cfg = point_config(0.2, 0.2)
    current, dS = drive_for(0.2, 0.2, cfg)
    assert current == pytest.approx(0.01, rel=1e-9) and dS == pytest.approx(2e-3, rel=1e-9)
    pt = regime_point(1e-4, 2e-3, ("mesh.size=2e-4", "mesh.electrode_size=4e-5"))
    assert pt["converged"]
    assert pt["category"] == "insulating"


def test_plots_and_report(tmp_path):
    """The map, the table and the report writer on synthetic points."""
    from fem_peltier import regime, validation as v

    pts = [{"J": J, "P": P, "category": c, "converged": c != "not converged", "metal_fraction": 0.1,
            "T_max_K": 400.0} for (J, P), c in zip([(0.02, 0.02), (0.2, 0.02), (0.02, 0.2), (0.2, 0.2)],
                                                   ["insulating", "both", "negative only", "channel"])]
    assert regime.plot_regime(pts, tmp_path / "validation" / "map.png") == "map.png"
    table = regime.regime_table(pts)
    assert "channel (0.100)" in table[2] and "negative only" in table[2]
    ch = v.Check("x", "X")
    ch.compare("a", 1.0, 1.0, 0.0)
    ch.compare("b", 1.2, 1.0, 0.1, kind="rel")
    assert [r.passed for r in ch.rows] == [True, False]
    path = v.write_report({"checks": [ch], "figures": {}, "regime": pts, "timings": {"x": 1.0}, "level": "quick",
                           "ranks": 1}, tmp_path)
    text = path.read_text()
    assert "**FAIL**" in text and "Fig. 2a,b (J = 0.2, P = 0.2): **channel**" in text
    assert (tmp_path / "validation" / "validation.csv").read_text().count("\n") == 3


def test_validate_cli_bad_part(tmp_path):
    from fem_peltier.cli import main

    assert main(["validate", "--out", str(tmp_path / "r"), "--only", "nope"]) == 2
    assert main(["figure", "fig9", "--out", str(tmp_path / "f")]) == 2
    assert not (tmp_path / "r" / "validation.md").exists()


def test_figure_command_fig2a(tmp_path):
    """`fem-peltier figure fig2a` on a coarse mesh writes the panel and the polarity pair into a new DIR."""
    from fem_peltier.cli import main

    out = tmp_path / "new" / "figs"
    assert main(["-q", "figure", "fig2a", "--out", str(out), "--set", "mesh.size=2e-4",
                 "--set", "mesh.electrode_size=4e-5"]) == 0
    for name in ("fig2a.png", "fig2a_polarity.png", "fig2a.json"):
        assert (out / name).stat().st_size > 100
