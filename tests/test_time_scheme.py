"""Drive waveforms, the multistep coefficients, their error estimates and the series analysis
(numpy only: no DOLFINx)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fem_peltier as fp
from fem_peltier.series_analysis import detect_periodic, energy_closure, integrate_steps
from fem_peltier.time_scheme import Level, coefficients, error_factor, extrapolate
from fem_peltier.waveforms import Waveform


def _wave(**drive):
    cfg = fp.load_config(preset="fig2a", overrides={f"drive.{k}": v for k, v in drive.items()})
    return Waveform.from_drive(cfg.drive)


def test_waveform_shapes_and_corners():
    ramp = _wave(waveform="ramp", rate=0.01, current=0.004, offset=0.001)
    assert ramp(0.0) == pytest.approx(0.001)
    assert ramp(0.2) == pytest.approx(0.003)
    assert ramp(1.0) == pytest.approx(0.005)  # offset + amplitude, held
    assert ramp.corners(10.0) == pytest.approx([0.4])
    assert not ramp.constant_after(0.3) and ramp.constant_after(0.4)

    pulse = _wave(waveform="pulse", period=1.0, duty=0.3, rise_time=0.1, current=0.01)
    assert [pulse(t) for t in (0.05, 0.2, 0.35, 0.5, 1.05)] == pytest.approx([0.005, 0.01, 0.005, 0.0, 0.005])
    assert pulse.corners(1.5) == pytest.approx([0.1, 0.3, 0.4, 1.0, 1.1, 1.3, 1.4])
    assert pulse.resolution_step() == pytest.approx(0.05)

    sine = _wave(waveform="sine", period=2.0, amplitude=0.002, offset=0.001)
    assert sine(0.5) == pytest.approx(0.003) and sine(1.5) == pytest.approx(-0.001)
    assert sine.corners(10.0) == []


def test_waveform_table(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("t_s,current_A\n0,0\n1e-3,0.01\n3e-3,0.01\n4e-3,0\n")
    w = _wave(waveform="table", table=str(f))
    assert w(0.5e-3) == pytest.approx(0.005)
    assert w(2e-3) == pytest.approx(0.01)
    assert w(10e-3) == 0.0
    assert w.corners(3.5e-3) == pytest.approx([1e-3, 3e-3])


@pytest.mark.parametrize(
    "override, key",
    [
        ({"drive.waveform": "ramp"}, "drive.rate"),
        ({"drive.waveform": "sine"}, "drive.period"),
        ({"drive.waveform": "pulse", "drive.period": 1.0, "drive.rise_time": 0.6}, "drive.rise_time"),
        ({"drive.waveform": "table"}, "drive.table"),
        ({"drive.waveform": "table", "drive.table": "/nonexistent.csv"}, "drive.table"),
        ({"drive.table": "x.csv"}, "drive.table"),
        ({"drive.current": None, "drive.voltage": 1.0, "drive.capacitance": 1e-9}, "drive.capacitance"),
        ({"time.dt": 2.0, "time.t_end": 1.0}, "time.dt"),
        ({"time.output_every": "3 stepz"}, "time.output_every"),
        ({"time.initial": "nowhere.npz"}, "time.initial"),
        ({"time.scheme": "rk4"}, "time.scheme"),
        ({"material.heat_capacity": -1.0}, "material.heat_capacity"),
        ({"material.latent_heat": -1.0}, "material.latent_heat"),
        ({"material.heat_capacity": {"law": "linear", "value": 2e6, "t_ref": 300, "alpha": -0.01}}, "material.heat_capacity"),
    ],
)
def test_bad_transient_keys_name_the_key(override, key):
    with pytest.raises(fp.InputError) as exc:
        fp.load_config(preset="fig2a", overrides=override)
    assert exc.value.key == key


def test_time_defaults_follow_the_thermal_time():
    cfg = fp.load_config(preset="fig2a").resolved()
    tau = 2.3e6 * (2e-4) ** 2 / 0.1
    assert cfg.thermal_time() == pytest.approx(tau)
    assert cfg.time.t_end == pytest.approx(20 * tau)
    assert cfg.time.dt == pytest.approx(1e-3 * tau)
    assert cfg.material.heat_capacity_substrate == pytest.approx(2.3e6)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_coefficients_differentiate_polynomials_exactly(order, ratio):
    """BDF-k with variable steps is exact for polynomials of degree k."""
    h1, h = 0.1, 0.1 * ratio
    t = np.array([-h1, 0.0, h])
    for degree in range(order + 1):
        y = t**degree
        a0, a1, a2 = coefficients(order, h, h1)
        approx = a0 * y[2] + a1 * y[1] + a2 * y[0]
        assert approx == pytest.approx(degree * h ** (degree - 1) if degree else 0.0, abs=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_error_estimate_matches_the_true_local_error(order):
    """Milne's device on y' = -y: the estimate is the local error to leading order."""
    h, h1, h2 = 0.01, 0.012, 0.009
    ts = np.array([1 - h1 - h2, 1 - h1, 1.0])
    ys = np.exp(-ts)
    a0, a1, a2 = coefficients(order, h, h1)
    prev = a1 * ys[2] + (a2 * ys[1] if order == 2 else 0.0)
    y_new = -prev / (a0 + 1.0)  # a0 y + prev = -y
    levels = [Level(t, np.array([y]), 0.0, np.zeros(1), np.zeros(1)) for t, y in zip(ts, ys, strict=True)]
    pred, _ = extrapolate(levels, 1 + h, order)
    estimate = error_factor(order, [h, h1, h2]) * (y_new - pred[0])
    true = y_new - math.exp(-(1 + h))
    assert estimate == pytest.approx(true, rel=0.1)


def test_periodicity_detection():
    t = np.linspace(0, 10, 2001)
    y = 1 + 0.5 * np.sign(np.sin(2 * np.pi * t / 1.3))
    p = detect_periodic(t, y)
    assert p is not None and p.period_s == pytest.approx(1.3, rel=0.01) and p.amplitude == pytest.approx(0.5)
    assert detect_periodic(t, 1 + 1e-9 * np.sin(t)) is None  # round-off wiggles
    decaying = 2 + np.exp(-0.1 * t) * np.sin(2 * np.pi * t)  # periods agree, swings do not
    assert detect_periodic(t, decaying) is None
    assert detect_periodic(t, 2 + np.sin(2 * np.pi * t)) is not None


def test_energy_closure_of_an_exact_record():
    t = np.linspace(0.01, 2, 200)
    E = 1 - np.exp(-t)
    closure = energy_closure(t, np.exp(-t), E, 0.0, 0.0)
    assert closure[0] == pytest.approx(E[-1], rel=1e-3)
    assert closure[1] < 1e-3
    assert integrate_steps(np.array([1.0, 2.0]), np.array([2.0, 4.0]), 0.0) == pytest.approx(5.0)


def test_timeseries_rows_are_plain_numbers(tmp_path):
    """numpy scalars (a table waveform's np.interp) are written as numbers, not 'np.float64(...)'."""
    from fem_peltier.transient_output import TimeseriesWriter, read_timeseries

    w = TimeseriesWriter(tmp_path / "ts.csv", rank=0)
    w.write({"t_s": np.float64(0.5), "dt_s": 0.5, "drive_value": np.float64(0.002), "newton_steps": 3})
    ts = read_timeseries(tmp_path / "ts.csv")
    assert ts["drive_value"][0] == 0.002 and ts["t_s"][0] == 0.5
