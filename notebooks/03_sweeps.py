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
# # Sweeps: the metal region as the current grows
#
# A sweep directory is what `fem-peltier sweep ... --out DIR` writes: `DIR/sweep.csv`
# (one row per current, with the run's scalar summary keys and the name of its run
# directory in the `run_dir` column) and one run directory per point, each with its own
# `fields.vtu` (and `fields.xdmf`). This notebook reads only those files, with PyVista
# and no DOLFINx, so it works for any sweep, including one computed in parallel on
# another machine.
#
# * `FEM_PELTIER_SWEEP_DIR`: the sweep to show. If it is not set, the notebook computes
#   a small one (fig2a, I = 4, 8, 12 mA, coarse mesh, about a minute) with the command
#   line into `$FEM_PELTIER_NB_OUT/03_sweep_fig2a`, or reuses it if it is already there.
# * `FEM_PELTIER_NB_OUT` (default `output/`) and `FEM_PELTIER_FIGURES` (default
#   `$FEM_PELTIER_NB_OUT/figures/03_sweeps/`): where runs and PNGs go.

# %%
import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import csv
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyvista as pv

pv.OFF_SCREEN = True

OUT = Path(os.environ.get("FEM_PELTIER_NB_OUT", "output"))
FIGURES = Path(os.environ.get("FEM_PELTIER_FIGURES", OUT / "figures" / "03_sweeps"))
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The sweep directory
#
# Computing the default sweep is the same as typing
#
# ```bash
# fem-peltier sweep --preset fig2a --currents 0.004,0.008,0.012 \
#     --set mesh.size=1e-4 --set mesh.electrode_size=2e-5 --out output/03_sweep_fig2a
# ```
#
# (`--resume` picks up an interrupted sweep). Exit code 3 means that some point did not
# converge; its row says so in the `converged` column and it is still shown.

# %%
if os.environ.get("FEM_PELTIER_SWEEP_DIR"):
    SWEEP = Path(os.environ["FEM_PELTIER_SWEEP_DIR"])
else:
    SWEEP = OUT / "03_sweep_fig2a"
    cmd = [sys.executable, "-m", "fem_peltier", "-q", "sweep", "--preset", "fig2a",
           "--currents", "0.004,0.008,0.012",
           "--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5", "--out", str(SWEEP)]
    if SWEEP.exists():
        cmd.append("--resume")  # reuse finished points, compute only the missing ones
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout[-2000:], proc.stderr[-2000:])
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"fem-peltier sweep failed with exit code {proc.returncode}")

with open(SWEEP / "sweep.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))
rows.sort(key=lambda r: float(r["current_set_A"]))
for r in rows:
    print(f"I = {float(r['current_set_A']) * 1e3:6.3g} mA  converged={r.get('converged', '?'):5s}  "
          f"metal fraction={r.get('metal_fraction', '')[:8]:8s}  T_max={r.get('T_max_K', '')[:6]} K  -> {r['run_dir']}")

# %% [markdown]
# ## Reading a run's `fields.vtu` without re-running anything
#
# Every run directory holds `fields.vtu`: one VTK unstructured grid of the whole mesh
# (also for a run under `mpirun`) with every field under its name with units. P1 fields
# (`temperature_K`, and `potential_V` with `current_discretization = "p1"`) are point
# data; the per-cell fields (`phase`, `current_density_A_m2`, `peltier_heat_W_m2`,
# `joule_heat_W_m3`, `cell_tags`) are cell data. `pyvista.read` opens it directly.

# %%
def read_run_fields(run_dir: Path, scale: float = 1e3) -> pv.UnstructuredGrid:
    """The mesh (coordinates times `scale`: mm by default) and every field of run_dir/fields.vtu."""
    path = Path(run_dir) / "fields.vtu"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no fields.vtu (a run written by an older version: run it again)")
    grid = pv.read(path)
    grid.points *= scale
    return grid


runs = []
for r in rows:
    grid = read_run_fields(SWEEP / r["run_dir"])
    summary = json.loads((SWEEP / r["run_dir"] / "summary.json").read_text())
    runs.append((float(r["current_set_A"]), grid, summary))
print(runs[-1][1])

# %% [markdown]
# The whole sweep as one time series: `sweep_fields.pvd` lists one `.vtu` per point
# (`sweep_fields/step_NNNNN.vtu`, with `temperature_K`, `phase` and `cell_tags`) at the
# swept current as its time (or the point index, when a current occurs twice). In ParaView
# it is one file to open and step through; in PyVista, `PVDReader` reads it step by step
# (a reader orders the steps by time).

# %%
series = SWEEP / "sweep_fields.pvd"
if series.is_file():
    reader = pv.PVDReader(str(series))
    for t in reader.time_values:
        reader.set_active_time_value(t)
        step = reader.read()[0]
        print(f"t = {t:.6g}: {step.n_cells} cells, T_max = {step.point_data['temperature_K'].max():.1f} K, "
              f"{int((step.cell_data['phase'] >= 0.5).sum())} metal cells")
else:
    print(f"{series.name} not found (a sweep written by an older version)")

# %% [markdown]
# ## Small multiples: the metal region vs current
#
# Top row: the metal (phase >= 0.5) in 3D, coloured by T, on one colour scale. Bottom
# row: the phase on the top surface z = h seen from above, with the m = 0.5 outline in
# cyan. Electrodes: negative at x = 0, positive at x = L (current enters there for
# I > 0).

# %%
geo = tomllib.loads((SWEEP / rows[0]["run_dir"] / "config.toml").read_text())["geometry"]
L, W, h = geo["length"] * 1e3, geo["width"] * 1e3, geo["thickness"] * 1e3
t0 = runs[0][2]["T0_K"]
tmax = max(float(gr.point_data["temperature_K"].max()) for _, gr, _ in runs)
SBAR = dict(color="black", title_font_size=14, label_font_size=12, n_labels=4, fmt="%.3g")

n = len(runs)
p = pv.Plotter(off_screen=True, shape=(2, n), window_size=(520 * n, 800), border=False)
p.set_background("white")
for col, (current, grid, summary) in enumerate(runs):
    metal = grid.threshold(value=0.5, scalars="phase")
    p.subplot(0, col)
    p.add_text(f"I = {current * 1e3:.3g} mA\nmetal fraction {summary['metal_fraction']:.3f}, "
               f"T_max {summary['T_max_K']:.0f} K", font_size=10, color="black")
    p.add_mesh(pv.Box(bounds=(0, L, 0, W, 0, h)), color="lightsteelblue", opacity=0.12)
    p.add_mesh(grid.outline(), color="black")
    if metal.n_cells:
        p.add_mesh(metal, scalars="temperature_K", cmap="inferno", clim=[t0, tmax],
                   show_scalar_bar=(col == n - 1), scalar_bar_args=dict(title="T (K)", **SBAR))
    p.camera_position = [(L * 0.5, -W * 1.6, h * 9.0), (L / 2, W / 2, 0.0), (0, 0, 1)]
    p.subplot(1, col)
    top = grid.cell_data_to_point_data().slice(normal="z", origin=(L / 2, W / 2, h * 0.999))
    p.add_mesh(top, scalars="phase", cmap="cividis", clim=[0, 1], show_scalar_bar=(col == n - 1),
               scalar_bar_args=dict(title="phase m (top)", **SBAR))
    edge = top.contour([0.5], scalars="phase")
    if edge.n_points:
        p.add_mesh(edge, color="cyan", line_width=3)
    p.camera_position = "xy"
    p.camera.zoom(0.8)
path = FIGURES / "metal_vs_current.png"
p.screenshot(str(path))
p.close()
print("wrote", path)

# %% [markdown]
# ## The scalar summary from `sweep.csv`

# %%
I_mA = np.array([float(r["current_set_A"]) * 1e3 for r in rows])


def column(name: str) -> np.ndarray:
    return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])


fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
axes[0].plot(I_mA, column("metal_fraction"), "o-")
axes[0].set_ylabel("metal volume fraction")
axes[1].plot(I_mA, column("T_max_K"), "o-", label="T_max")
axes[1].plot(I_mA, column("T_mean_K"), "s-", label="T_mean")
axes[1].axhline(runs[0][2]["T_mit_K"], color="gray", lw=0.8, ls=":", label="T_MIT")
axes[1].set_ylabel("T (K)")
axes[1].legend(fontsize=8)
axes[2].plot(I_mA, column("voltage_V"), "o-")
axes[2].set_ylabel("voltage (V)")
for ax in axes:
    ax.set_xlabel("current (mA)")
fig.suptitle(f"sweep {SWEEP.name}: scalar results per point (from sweep.csv)", fontsize=10)
fig.tight_layout()
path = FIGURES / "sweep_summary.png"
fig.savefig(path, dpi=110)
plt.close(fig)
print("wrote", path)
