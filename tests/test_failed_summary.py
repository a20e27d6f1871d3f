"""A failed run's summary describes the state it wrote (issue 15, item 2).

When even the widest band level fails, the drive is ramped up from a fraction of its
value. A ramp that ran out of budget used to rescale the potential to the full drive and
then fall back to the initial guess, so the summary paired the target drive with a state
solved at none (e.g. V = I R_ref with I = 0). Now the furthest converged point of the ramp
is written, at the drive it reached, and the summary says so: drive_reached_fraction, and
band_width_K (the band width of the written state, whose metal fraction is smoothed over it).
"""

from __future__ import annotations

import pytest


def test_stalled_ramp_reports_the_drive_it_reached() -> None:
    from mpi4py import MPI  # noqa: F401

    import fem_peltier as fp

    cfg = fp.load_config(preset="fig2a", overrides=["mesh.size=1e-4", "mesh.electrode_size=2e-5",
                                                     "solver.newton_max_iterations=1", "solver.max_iterations=15"])
    s = fp.run(cfg).summary
    assert s["converged"] is False and "drive ramp" in s["reason"], s["reason"]
    reached = s["drive_reached_fraction"]
    assert 0 < reached < 1
    assert s["current_A"] == pytest.approx(reached * 0.01, rel=1e-9)  # the state's own current
    assert s["voltage_V"] * s["current_A"] == pytest.approx(s["heat_joule_W"], rel=1e-6)  # one state
    assert s["band_width_K"] == s["transition_width_K"] == pytest.approx(cfg.resolved().solver.initial_width)


def test_converged_run_reached_the_whole_drive() -> None:
    from mpi4py import MPI  # noqa: F401

    import fem_peltier as fp

    cfg = fp.load_config(preset="fig2a", overrides=["mesh.size=1e-4", "mesh.electrode_size=2e-5"])
    s = fp.run(cfg).summary
    assert s["converged"] and s["drive_reached_fraction"] == 1.0
    assert s["band_width_K"] == s["transition_width_K"] == cfg.resolved().solver.transition_width


def test_api_error_names_the_keyword_argument(tmp_path) -> None:
    """fp.run into an existing directory names run()'s keyword, not the command-line flag."""
    from mpi4py import MPI  # noqa: F401

    import fem_peltier as fp

    (tmp_path / "out").mkdir()
    cfg = fp.load_config(preset="fig2a", overrides={"mesh.size": 1e-4})
    with pytest.raises(fp.InputError, match="pass overwrite=True"):
        fp.run(cfg, out=tmp_path / "out")
