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
# # Quick start: one run of the Fig. 2a case, inspected in 3D
#
# This notebook solves the `fig2a` preset (point electrodes on a 1 mm x 1 mm x 0.2 mm
# film, I = 10 mA) from Python on a deliberately coarse mesh (about 2,000 cells, a few
# seconds), and then looks at the solution with PyVista:
#
# 1. a slice of the temperature through the electrodes,
# 2. the metallic region (cells with phase m >= 0.5),
# 3. a clip through the negative electrode,
# 4. streamlines of the current density coloured by |j|,
# 5. the metal/insulator interface coloured by the Peltier heat released on it.
#
# Every picture is written as a PNG. Where they go:
#
# * `FEM_PELTIER_NB_OUT` (default `output/` next to the notebook, i.e. relative to the
#   working directory Jupyter gives the notebook): run directories;
# * `FEM_PELTIER_FIGURES` (default `$FEM_PELTIER_NB_OUT/figures/01_quickstart/`): the PNGs.
#
# Rendering is off-screen, so this runs on a machine without a display and in CI.
# For an interactive window in Jupyter, set `pv.OFF_SCREEN = False` and install a
# PyVista Jupyter backend (`pip install "pyvista[jupyter]"`).

# %%
import os

# VTK would otherwise try an X server first and print a warning when there is none.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from pathlib import Path

import numpy as np
import pyvista as pv

import fem_peltier as fp

pv.OFF_SCREEN = True

OUT = Path(os.environ.get("FEM_PELTIER_NB_OUT", "output"))
FIGURES = Path(os.environ.get("FEM_PELTIER_FIGURES", OUT / "figures" / "01_quickstart"))
FIGURES.mkdir(parents=True, exist_ok=True)

# Mesh resolution: coarse enough for seconds on a laptop. For pictures worth showing,
# use the preset's defaults (drop these two overrides) or mesh.size=5e-5.
MESH = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]

# %% [markdown]
# ## Run
#
# `fp.load_config` takes a preset (or a TOML file with `path=...`) and `--set`-style
# overrides; `fp.run` meshes, solves and, with `out=...`, writes the same run directory as
# `fem-peltier run` (summary.json, fields.vtu and fields.xdmf for ParaView, quick-look PNGs).

# %%
cfg = fp.load_config(preset="fig2a", overrides=MESH)
result = fp.run(cfg, out=OUT / "01_fig2a", overwrite=True)
s = result.summary
print(f"converged: {result.converged} ({s['iterations']} Newton steps, {s['wall_time_s']:.1f} s, {s['cells']} cells)")
print(f"I = {s['current_A'] * 1e3:.3g} mA, V = {s['voltage_V']:.4g} V")
print(f"T_max = {s['T_max_K']:.1f} K, T_mean = {s['T_mean_K']:.1f} K (T0 = {s['T0_K']:g} K, T_MIT = {s['T_mit_K']:g} K)")
print(f"metal fraction = {s['metal_fraction']:.4f}, metal on the top line: {s['metal_top_x_range_m']} m")
print(f"heat: Joule {s['heat_joule_W'] * 1e3:.3f} mW + Peltier {s['heat_peltier_W'] * 1e3:.3f} mW"
      f" -> sink {s['heat_to_sink_W'] * 1e3:.3f} mW")

# %% [markdown]
# ## The run's `fields.vtu` in PyVista
#
# The run directory holds `fields.vtu`: the whole mesh (also after a run under `mpirun`)
# with every field, which `pyvista.read` opens as one grid, without DOLFINx: on another
# machine, copy the run directory and start from this cell. `temperature_K` is point data
# (P1, values at the vertices); `current_density_A_m2`, `phase`, `peltier_heat_W_m2`,
# `joule_heat_W_m3` and `cell_tags` are one value per cell; `potential_V` is point data
# or per cell depending on `solver.current_discretization`. Coordinates are in metres;
# they are scaled to mm for the axes, and the arrays get short labels for the colour bars.

# %%
grid = pv.read(result.out / "fields.vtu")
grid.points *= 1e3  # mm
n = grid.n_cells
for name, label in [("temperature_K", "T (K)"), ("potential_V", "phi (V)"), ("current_density_A_m2", "j (A/m2)"),
                    ("peltier_heat_W_m2", "Peltier heat (W/m2)"), ("joule_heat_W_m3", "Joule heat (W/m3)")]:
    grid.rename_array(name, label)
grid.cell_data["j magnitude (A/m2)"] = np.linalg.norm(grid.cell_data["j (A/m2)"], axis=1)
# Cell data averaged onto the vertices, for contours and streamlines.
pgrid = grid.cell_data_to_point_data()

g = result.problem.cfg.geometry
L, W, h = g.length * 1e3, g.width * 1e3, g.thickness * 1e3  # mm
el, ew = g.electrode_length * 1e3, g.electrode_width * 1e3
t0, tmit = s["T0_K"], s["T_mit_K"]
print(grid)


def electrodes() -> pv.PolyData:
    """The two electrode patches on the top surface, slightly lifted so they stay visible."""
    z = h * 1.002
    neg = pv.Rectangle([(0, (W - ew) / 2, z), (el, (W - ew) / 2, z), (el, (W + ew) / 2, z)])
    pos = pv.Rectangle([(L - el, (W - ew) / 2, z), (L, (W - ew) / 2, z), (L, (W + ew) / 2, z)])
    return neg + pos


def film_box() -> pv.PolyData:
    """The film's outer surface (for a transparent shell)."""
    return pv.Box(bounds=(0, L, 0, W, 0, h))


def new_plotter(title: str, size=(1000, 700)) -> pv.Plotter:
    p = pv.Plotter(off_screen=True, window_size=size)
    p.set_background("white")
    p.add_text(title, font_size=11, color="black")
    return p


def save(p: pv.Plotter, name: str) -> Path:
    path = FIGURES / name
    p.screenshot(str(path))
    p.close()
    print("wrote", path)
    return path


SBAR = dict(color="black", title_font_size=14, label_font_size=12, n_labels=4, fmt="%.3g")
CAMERA = [(L * 1.45, -W * 1.35, h * 5.5), (L / 2, W / 2, 0.0), (0, 0, 1)]  # view from the front, above

# %% [markdown]
# ## 1. Temperature: slices through the electrodes
#
# A vertical slice at y = W/2 (through both electrodes) and the back half (y > W/2) of the
# top surface z = h. The white line is the isotherm T = T_MIT.

# %%
p = new_plotter(f"T on y = W/2 and on the top surface: I = {s['current_A'] * 1e3:.4g} mA, V = {s['voltage_V']:.4g} V, "
                f"band w = {s['band_width_K']:.3g} K ({s['cells']} cells)")
sl_y = grid.slice(normal="y", origin=(L / 2, W / 2, h / 2))
# top surface, back half only (y >= W/2), so that the vertical slice stays visible
sl_top = grid.slice(normal="z", origin=(L / 2, W / 2, h * 0.999)).clip(normal="-y", origin=(L / 2, W / 2, h / 2))
clim = [t0, float(grid.point_data["T (K)"].max())]
for sl in (sl_y, sl_top):
    p.add_mesh(sl, scalars="T (K)", cmap="inferno", clim=clim, scalar_bar_args=dict(title="T (K)", **SBAR))
for sl in (sl_y, sl_top):
    iso = sl.contour([tmit], scalars="T (K)")
    if iso.n_points:
        p.add_mesh(iso, color="white", line_width=3)
p.add_mesh(grid.outline(), color="black")
p.add_mesh(electrodes(), color="limegreen")
p.camera_position = CAMERA
save(p, "slice_T.png")

# %% [markdown]
# ## 2. The metal: threshold on the phase indicator
#
# `phase` is the metal fraction m of each cell (0 insulator, 1 metal, in between inside
# the narrow band around T_MIT). Cells with m >= 0.5 are shown solid, coloured by T; the
# film is a transparent outline. Green: the electrodes (negative at x = 0, positive at
# x = L; with I > 0 the current enters at x = L).

# %%
metal = grid.threshold(value=0.5, scalars="phase")
p = new_plotter(f"metal (m >= 0.5): {metal.n_cells} of {n} cells, volume fraction {s['metal_fraction']:.3f}")
p.add_mesh(film_box(), color="lightsteelblue", opacity=0.15)
p.add_mesh(grid.outline(), color="black")
if metal.n_cells:
    p.add_mesh(metal, scalars="T (K)", cmap="inferno", clim=clim, scalar_bar_args=dict(title="T (K)", **SBAR))
p.add_mesh(electrodes(), color="limegreen")
p.camera_position = CAMERA
save(p, "metal_threshold.png")

# %% [markdown]
# ## 3. A clip through the negative electrode
#
# The film is cut by the plane x = (middle of the negative electrode) and the part with
# larger x is kept; the cut face shows T below the electrode, the cyan line is the
# boundary of the metal (m = 0.5) on it.

# %%
x_cut = el / 2
clipped = grid.clip(normal="-x", origin=(x_cut, W / 2, h / 2))
face = grid.slice(normal="x", origin=(x_cut, W / 2, h / 2))
p = new_plotter(f"clip at x = {x_cut:.3g} mm through the negative electrode")
p.add_mesh(clipped, scalars="T (K)", cmap="inferno", clim=clim, show_scalar_bar=False)
p.add_mesh(face, scalars="T (K)", cmap="inferno", clim=clim, scalar_bar_args=dict(title="T (K)", **SBAR))
front = pgrid.slice(normal="x", origin=(x_cut, W / 2, h / 2)).contour([0.5], scalars="phase")
if front.n_points:
    p.add_mesh(front, color="cyan", line_width=4)
p.add_mesh(grid.outline(), color="black")
p.add_mesh(electrodes(), color="limegreen")
p.camera_position = [(-L * 1.3, -W * 0.6, h * 6.0), (L * 0.35, W / 2, 0.0), (0, 0, 1)]
save(p, "clip_electrode.png")

# %% [markdown]
# ## 4. Streamlines of the current density
#
# The run's current is a Raviart-Thomas field (the default `current_discretization =
# "mixed"`: its normal component is continuous across facets, so no current is lost); the
# output field `current_density_A_m2` holds its value at each cell's centre, and for
# integration it is averaged to the vertices. Seeds sit in a small sphere under the positive electrode, where the current
# enters; the lines follow j to the negative electrode and are coloured by |j|.

# %%
seed_centre = (L - el / 2, W / 2, h * 0.8)
lines = pgrid.streamlines(vectors="j (A/m2)", source_center=seed_centre, source_radius=min(h, W) * 0.35,
                          n_points=150, integration_direction="both", max_length=4 * L,
                          initial_step_length=0.2, terminal_speed=1e-12)
p = new_plotter(f"streamlines of j from the positive electrode ({lines.n_lines} lines), coloured by magnitude")
p.add_mesh(grid.outline(), color="black")
p.add_mesh(film_box(), color="lightsteelblue", opacity=0.1)
if lines.n_points:
    lines["j magnitude (A/m2)"] = np.linalg.norm(lines["j (A/m2)"], axis=1)
    p.add_mesh(lines.tube(radius=0.004), scalars="j magnitude (A/m2)", cmap="viridis", log_scale=True,
               scalar_bar_args=dict(title="j magnitude (A/m2)", **SBAR))
if metal.n_cells:
    p.add_mesh(metal, color="silver", opacity=0.25)
p.add_mesh(electrodes(), color="limegreen")
p.camera_position = CAMERA
save(p, "streamlines_j.png")

# %% [markdown]
# ## 5. The interface, coloured by the Peltier heat
#
# The metal/insulator interface is drawn as the surface m = 0.5 (contour of the phase
# averaged to the vertices). `peltier_heat_W_m2` is the interface heat per unit area,
# q = T (S_I - S_M) j . n (n pointing from insulator into metal), stored on the cells that
# touch the interface; it is averaged onto the surface. Red: heat released, blue: heat
# absorbed (Peltier cooling).

# %%
iface = pgrid.contour([0.5], scalars="phase")
p = new_plotter("interface m = 0.5 coloured by Peltier heat (W/m2)")
p.add_mesh(grid.outline(), color="black")
if iface.n_points:
    q = iface.point_data["Peltier heat (W/m2)"]
    qmax = float(np.max(np.abs(q))) or 1.0
    p.add_mesh(iface, scalars="Peltier heat (W/m2)", cmap="coolwarm", clim=[-qmax, qmax],
               scalar_bar_args=dict(title="q_P (W/m2)", **SBAR))
    print(f"interface area {iface.area:.4g} mm2, q_P from {q.min():.4g} to {q.max():.4g} W/m2")
else:
    print("no metal/insulator interface in this run")
p.add_mesh(electrodes(), color="limegreen")
p.camera_position = CAMERA
save(p, "interface_peltier.png")

# %% [markdown]
# ## Files
#
# The run directory also holds `fields.xdmf` (the same fields with the mesh tags, for
# ParaView's Xdmf3 reader), `summary.json` and two matplotlib quick-looks; `fields.vtu`
# opens in ParaView directly (see `docs/paraview.md`).

# %%
for path in sorted(FIGURES.glob("*.png")):
    print(f"{path}  {path.stat().st_size / 1024:.0f} kB")
