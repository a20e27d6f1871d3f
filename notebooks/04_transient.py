# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Transient: a current pulse switches the film on and off
#
# This notebook integrates the `fig2a` case (point electrodes on a 1 mm x 1 mm x 0.2 mm
# film) in time: a current pulse of 3 mA drives it from the uniform T0 into the
# metallic state and, after the pulse, lets it cool back to the insulator. The run is
# `fp.run_transient` (the same as `fem-peltier transient`) on a coarse mesh (about 2,000
# cells, a few tens of seconds); everything shown afterwards is read back from the files
# the run wrote, as one would for a run made elsewhere (in parallel, on a cluster):
#
# * `timeseries.csv` (one row per accepted time step) with
#   `fem_peltier.transient_output.read_timeseries`: V(t), T_max(t), metal fraction(t);
# * the field frames `fields_time.pvd` with PyVista's `PVDReader`, without DOLFINx: the
#   temperature on the top surface of the film at a few instants.
#
# * `FEM_PELTIER_NB_OUT` (default `output/`): the run directory `04_fig2a_pulse/`;
# * `FEM_PELTIER_FIGURES` (default `$FEM_PELTIER_NB_OUT/figures/04_transient/`): the PNGs
#   `transient_series.png` and `transient_frames.png`.

# %%
import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import json
from pathlib import Path

from mpi4py import MPI  # noqa: F401  (loads MPI before DOLFINx)
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyvista as pv

import fem_peltier as fp
from fem_peltier.transient_output import read_timeseries

pv.OFF_SCREEN = True

OUT = Path(os.environ.get("FEM_PELTIER_NB_OUT", "output"))
FIGURES = Path(os.environ.get("FEM_PELTIER_FIGURES", OUT / "figures" / "04_transient"))
FIGURES.mkdir(parents=True, exist_ok=True)

# Coarse mesh: a few tens of seconds. Finer: mesh.size=5e-5 (minutes).
MESH = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]

# %% [markdown]
# ## Run
#
# The drive is `waveform = "pulse"`: a trapezoid of period `period` that rises from
# `offset` (0) to the amplitude (the preset's `drive.current`, here 3 mA) in
# `rise_time`, stays high for `duty` of the period and falls back. A period of 2 s
# with duty 0.4 and t_end = 1.6 s: on for 0.8 s, then 0.8 s off. The film's thermal time
# h^2 c / kappa is about 0.9 s, but the hot spots under the electrodes are small: the
# metal grows to nearly its steady size within the pulse and vanishes within about 0.1 s
# after it. The time step adapts (BDF2 with a local error estimate); it is forced short
# at the pulse's corners and wherever the metal grows or shrinks quickly. Frames of the
# fields are written every 0.05 s (`time.output_every`).
#
# The same from the command line:
#
# ```bash
# fem-peltier transient --preset fig2a --out output/04_fig2a_pulse --set drive.current=0.003 \
#     --set drive.waveform=pulse --set drive.period=2 --set drive.duty=0.4 --set drive.rise_time=0.05 \
#     --set time.t_end=1.6 --set time.output_every=0.05 --set mesh.size=1e-4 --set mesh.electrode_size=2e-5
# ```

# %%
RUN = OUT / "04_fig2a_pulse"
cfg = fp.load_config(preset="fig2a", overrides=[
    *MESH, "drive.current=0.003", "drive.waveform=pulse", "drive.period=2", "drive.duty=0.4",
    "drive.rise_time=0.05", "time.t_end=1.6", "time.output_every=0.05"])
result = fp.run_transient(cfg, out=RUN, overwrite=True)
s = result.summary
print(f"{s['reason']}: {s['time_steps']} steps ({s['rejected_steps']} rejected), "
      f"{s['newton_steps_per_time_step']:.2f} Newton steps per step, {s['wall_time_s']:.1f} s, {s['cells']} cells")
print(f"metal first at t = {s['switching_time_s']} s; final state: {s['final_state']}; "
      f"energy balance closes to {s['energy_balance_rel']:.2%}")

# %% [markdown]
# ## The time series from `timeseries.csv`
#
# `read_timeseries` returns {column: numpy array}; `t_s` is the time, and every heat term
# of the balance is a column too (`heat_joule_W`, `heat_peltier_W`, `heat_storage_W`,
# ...). Dots mark the accepted steps, so the step size shows.

# %%
ts = read_timeseries(RUN / "timeseries.csv")
summary = json.loads((RUN / "summary.json").read_text())
t0, tmit = summary["T0_K"], summary["T_mit_K"]
t = ts["t_s"]
print(f"{t.size} rows; columns: {', '.join(ts)}")

fig, axes = plt.subplots(4, 1, figsize=(8, 8.5), sharex=True)
axes[0].plot(t, ts["drive_value"] * 1e3, ".-", ms=3)
axes[0].set_ylabel("I set (mA)")
axes[1].plot(t, ts["voltage_V"], ".-", ms=3)
axes[1].set_ylabel("V (V)")
axes[2].plot(t, ts["T_max_K"], ".-", ms=3, label="T_max")
axes[2].plot(t, ts["T_mean_K"], "-", lw=1, label="T_mean")
axes[2].axhline(tmit, color="gray", lw=0.8, ls=":", label="T_MIT")
axes[2].set_ylabel("T (K)")
axes[2].legend(fontsize=8)
axes[3].plot(t, ts["metal_fraction"], ".-", ms=3)
axes[3].set_ylabel("metal fraction")
axes[3].set_xlabel("t (s)")
for ax in axes:
    ax.grid(alpha=0.3)
fig.suptitle(f"fig2a, 3 mA pulse: {summary['time_steps']} steps, {summary['rejected_steps']} rejected", fontsize=10)
fig.tight_layout()
path = FIGURES / "transient_series.png"
fig.savefig(path, dpi=110)
plt.close(fig)
print("wrote", path)

# %% [markdown]
# ## The field frames from `fields_time.pvd`
#
# `fields_time.pvd` lists one frame per output time; each frame is one VTK file of the
# whole mesh (`fields/frame_NNNNN.vtu`, also for a run under `mpirun`). `PVDReader` gives
# the times, and `read()` the frame at the active time as a MultiBlock with one block,
# the grid. `temperature_K` is point data; `phase`,
# `current_density_A_m2` and the heat sources are cell data. The top surface z = h is
# where the electrodes sit; below it we show the temperature there at four instants
# (one colour scale), with the outline of the metal (phase 0.5) in cyan.

# %%
reader = pv.PVDReader(str(RUN / "fields_time.pvd"))
times = np.array(reader.time_values)
print(f"{times.size} frames at t = {np.round(times, 3)} s")


def frame(time: float) -> pv.UnstructuredGrid:
    """The frame nearest `time`, coordinates in mm."""
    reader.set_active_time_value(float(times[np.argmin(np.abs(times - time))]))
    grid = reader.read()[0]
    grid.points *= 1e3
    return grid


def top_surface(grid: pv.UnstructuredGrid) -> pv.PolyData:
    """The outer faces on z = h (fields averaged to the vertices for a smooth picture)."""
    surf = grid.cell_data_to_point_data().extract_surface(algorithm="dataset_surface")
    z_top = grid.bounds[5]
    centres = surf.cell_centers().points[:, 2]
    return surf.extract_cells(np.flatnonzero(centres > z_top - 1e-6 * max(z_top, 1.0))).extract_surface(algorithm="dataset_surface")


# the instants: while the metal grows, at the end of the pulse, while cooling, the last frame
picks = [0.05, 0.8, 0.86, times[-1]]
frames = [(times[np.argmin(np.abs(times - tp))], top_surface(frame(tp))) for tp in picks]
t_hi = max(float(f.point_data["temperature_K"].max()) for _, f in frames)
SBAR = dict(color="black", title_font_size=14, label_font_size=12, n_labels=4, fmt="%.0f")

p = pv.Plotter(off_screen=True, shape=(2, 2), window_size=(1100, 950), border=False)
p.set_background("white")
for k, (tf, top) in enumerate(frames):
    p.subplot(k // 2, k % 2)
    row = int(np.argmin(np.abs(t - tf)))
    p.add_text(f"t = {tf:.2f} s, I set {ts['drive_value'][row] * 1e3:.2f} mA\n"
               f"T_max {top.point_data['temperature_K'].max():.0f} K, metal fraction {ts['metal_fraction'][row]:.3f}",
               font_size=10, color="black")
    p.add_mesh(top, scalars="temperature_K", cmap="inferno", clim=[t0, t_hi], show_scalar_bar=(k == 3),
               scalar_bar_args=dict(title="T on top (K)", **SBAR))
    edge = top.contour([0.5], scalars="phase")
    if edge.n_points:
        p.add_mesh(edge, color="cyan", line_width=3)
    p.camera_position = "xy"
    p.camera.zoom(0.85)
path = FIGURES / "transient_frames.png"
p.screenshot(str(path))
p.close()
print("wrote", path)
