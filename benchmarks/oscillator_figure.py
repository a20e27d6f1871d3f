"""docs/img/transient_oscillator.png: the RC relaxation oscillator of examples/oscillator.toml.

    fem-peltier transient examples/oscillator.toml --out out/oscillator
    python benchmarks/oscillator_figure.py out/oscillator [docs/img/transient_oscillator.png]

V(t) and I(t) of the film, and the limit cycle in the V-I plane over the film's steady
branches (R_I up to the fold V_on, R_M down to the fold V_off: the steady folds of
tests/test_oscillator.py::steady_folds on the example's mesh) and the load line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fem_peltier.transient_output import read_timeseries  # noqa: E402

V_ON, V_OFF = 1.4034, 0.3978  # V, steady folds (tests/test_oscillator.py)
R_I, R_M = 12.0e3, 1.2e3  # Ohm
V_S, R_L = 10.0, 48.0e3  # V, Ohm (examples/oscillator.toml)


def main(run: Path, png: Path) -> None:
    ts = read_timeseries(run / "timeseries.csv")
    t, V, I = (np.asarray(ts[k]) for k in ("t_s", "voltage_V", "current_A"))
    I_src = np.asarray(ts["source_current_A"])
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    ax[0].plot(t, V, lw=1.2, label="film voltage V")
    for v, name in ((V_ON, "V_on"), (V_OFF, "V_off")):
        ax[0].axhline(v, color="0.5", ls=":", lw=1)
        ax[0].text(0.99 * t[-1], v + 0.03, name, ha="right", fontsize=8, color="0.4")
    ax[0].set(xlabel="t (s)", ylabel="V (V)", title="film voltage")
    ax[1].plot(t, I * 1e3, lw=1.2, label="film current I")
    ax[1].plot(t, I_src * 1e3, lw=1, ls="--", label="load-resistor current (V_s - V)/R_L")
    ax[1].plot(t, (I_src - I) * 1e3, lw=0.8, color="0.6", label="capacitor current C dV/dt")
    ax[1].set(xlabel="t (s)", ylabel="I (mA)", title="currents")
    ax[1].legend(fontsize=8)
    last = t >= t[-1] - 0.45 * (t[-1] - t[0])
    ax[2].plot(I[last] * 1e3, V[last], lw=1.5, color="C3", label="limit cycle (simulated)")
    i_on, i_off = V_ON / R_I, V_OFF / R_M
    ax[2].plot(
        [0, i_on * 1e3], [0, V_ON], color="C0", lw=2.5, alpha=0.5, label=f"insulating branch R_I = {R_I:.0f} Ohm"
    )
    i_m = np.linspace(i_off, 1.25 * V_ON / R_M, 10)
    ax[2].plot(i_m * 1e3, i_m * R_M, color="C2", lw=2.5, alpha=0.5, label=f"metallic branch R_M = {R_M:.0f} Ohm")
    v_l = np.linspace(0, 1.6, 10)
    ax[2].plot((V_S - v_l) / R_L * 1e3, v_l, color="0.4", ls="--", lw=1, label="load line (V_s - V)/R_L")
    ax[2].plot([i_on * 1e3, i_on * 1e3 * R_I / R_M], [V_ON, V_ON], color="0.6", ls=":", lw=1)
    ax[2].set(xlabel="film current I (mA)", ylabel="V (V)", title="V-I plane", xlim=(0, 1.6), ylim=(0, 1.6))
    ax[2].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"RC relaxation oscillator (examples/oscillator.toml): V_s = {V_S:g} V, R_L = {R_L / 1e3:g} kOhm, C = 2 mF",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[1]
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else here / "docs/img/transient_oscillator.png")
