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
# # Polarity: the same film with the current reversed
#
# Sign convention (docs/physics.md): `drive.current > 0` enters the film at the positive
# electrode (x near L) and leaves at the negative electrode (x near 0).
#
# Both electrodes are equipotential contacts and the mesh is mirror-symmetric under
# x -> L - x, so reversing the current gives the mirror image of the solution: Joule heat
# is even in j, and the Peltier heat T (S_I - S_M) j.n keeps its sign when both j and the
# geometry are mirrored. What the Peltier term does change is the balance between the two
# electrodes *within* one run: heat is released where current passes from the insulator
# into the metal and absorbed where it passes back out, so the metal grows differently at
# the electrode where the current enters and where it leaves. A third run with
# `thermal.peltier_heating = false` shows the Joule-only, left-right symmetric reference.
#
# Output folders as in `01_quickstart.py`: `FEM_PELTIER_NB_OUT` (default `output/`) and
# `FEM_PELTIER_FIGURES` (default `$FEM_PELTIER_NB_OUT/figures/02_polarity/`).

# %%
import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyvista as pv

import fem_peltier as fp

pv.OFF_SCREEN = True

OUT = Path(os.environ.get("FEM_PELTIER_NB_OUT", "output"))
FIGURES = Path(os.environ.get("FEM_PELTIER_FIGURES", OUT / "figures" / "02_polarity"))
FIGURES.mkdir(parents=True, exist_ok=True)
MESH = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]  # coarse: seconds per run
CURRENT = 0.01  # A, the fig2a value

# %% [markdown]
# ## Three runs on one mesh
#
# I > 0, I < 0, and I > 0 without Peltier heat. The later runs reuse the first one's mesh
# (`film_mesh=`), so all solutions live on identical cells and can be compared point by
# point.

# %%
CASES = {  # key: (label, extra overrides)
    "plus": ("I > 0", [f"drive.current={CURRENT!r}"]),
    "minus": ("I < 0", [f"drive.current={-CURRENT!r}"]),
    "joule": ("I > 0, no Peltier", [f"drive.current={CURRENT!r}", "thermal.peltier_heating=false"]),
}
results = {}
for key, (label, extra) in CASES.items():
    cfg = fp.load_config(preset="fig2a", overrides=MESH + extra)
    mesh = results["plus"].problem.fm if results else None
    res = fp.run(cfg, out=OUT / f"02_fig2a_{key}", overwrite=True, film_mesh=mesh)
    results[key] = res
    s = res.summary
    print(f"{label:18s} I = {s['current_A'] * 1e3:+.3g} mA: converged {res.converged}, V = {s['voltage_V']:+.4g} V, "
          f"T_max = {s['T_max_K']:.1f} K, metal fraction = {s['metal_fraction']:.4f}, "
          f"Peltier heat = {s['heat_peltier_W'] * 1e3:+.3f} mW, metal depth = {s['metal_max_depth_m'] * 1e6:.0f} um")

# %% [markdown]
# The pictures below read each run's `fields.vtu` from its directory with `pyvista.read`,
# as a user would on a machine without DOLFINx (the file holds the whole mesh, also after
# a run under `mpirun`).

# %%
g = results["plus"].problem.cfg.geometry
L, W, h = g.length * 1e3, g.width * 1e3, g.thickness * 1e3  # mm
el, ew = g.electrode_length * 1e3, g.electrode_width * 1e3
t0, tmit = results["plus"].summary["T0_K"], results["plus"].summary["T_mit_K"]


def to_grid(res) -> pv.UnstructuredGrid:
    """The run's fields.vtu as written (no DOLFINx), coordinates in mm: T at the vertices, the phase per cell."""
    grid = pv.read(res.out / "fields.vtu")
    grid.points *= 1e3
    grid.rename_array("temperature_K", "T (K)")
    return grid


grids = {key: to_grid(res) for key, res in results.items()}
tmax = max(float(gr.point_data["T (K)"].max()) for gr in grids.values())

# %% [markdown]
# ## Side by side in 3D
#
# Same camera and colour scale in every panel: the metal (m >= 0.5) coloured by T, the
# film outline, and the electrodes (green; "current in" marks where the current enters
# the film).

# %%
SBAR = dict(color="black", title_font_size=14, label_font_size=12, n_labels=4, fmt="%.3g")
CAMERA = [(L * 0.5, -W * 1.6, h * 9.0), (L / 2, W / 2, 0.0), (0, 0, 1)]

p = pv.Plotter(off_screen=True, shape=(1, 3), window_size=(1800, 560), border=False)
p.set_background("white")
for col, key in enumerate(CASES):
    p.subplot(0, col)
    grid, s = grids[key], results[key].summary
    metal = grid.threshold(value=0.5, scalars="phase")
    p.add_text(f"{CASES[key][0]}: I = {s['current_A'] * 1e3:+.3g} mA\n"
               f"T_max = {s['T_max_K']:.0f} K, metal fraction {s['metal_fraction']:.3f}", font_size=10, color="black")
    p.add_mesh(pv.Box(bounds=(0, L, 0, W, 0, h)), color="lightsteelblue", opacity=0.12)
    if metal.n_cells:
        p.add_mesh(metal, scalars="T (K)", cmap="inferno", clim=[t0, tmax], show_scalar_bar=(col == 1),
                   scalar_bar_args=dict(title="T (K)", **SBAR))
    p.add_mesh(grid.outline(), color="black")
    z = h * 1.002
    for x0 in (0.0, L - el):
        p.add_mesh(pv.Rectangle([(x0, (W - ew) / 2, z), (x0 + el, (W - ew) / 2, z), (x0 + el, (W + ew) / 2, z)]),
                   color="limegreen")
    # the electrode where the current enters: x = L for I > 0, x = 0 for I < 0
    x_in = L - el / 2 if s["current_A"] > 0 else el / 2
    p.add_point_labels([(x_in, W * 0.75, h * 1.2)], ["current in"], font_size=14, text_color="black",
                       shape_opacity=0.0, show_points=False)
    p.camera_position = CAMERA
p.link_views()
path = FIGURES / "polarity_3d.png"
p.screenshot(str(path))
p.close()
print("wrote", path)

# %% [markdown]
# ## Mirror test on the top surface
#
# T along the top centre line y = W/2, with the reversed run drawn mirrored
# (x -> L - x): it falls on the I > 0 curve (up to the solver tolerance). The Joule-only
# run is symmetric about x = L/2; the difference between it and the I > 0 run is the
# effect of the Peltier heat at the two ends. The lower panel shows the phase along the
# same line.

# %%
a, b = (0.0, W / 2, h * 0.999), (L, W / 2, h * 0.999)
prof = {key: grids[key].cell_data_to_point_data().sample_over_line(a, b, resolution=400) for key in CASES}
x = prof["plus"].points[:, 0]
style = {"plus": dict(color="tab:red"), "minus": dict(color="tab:blue", ls="--"), "joule": dict(color="0.4", ls=":")}
label = {"plus": "I > 0", "minus": "I < 0, mirrored (x -> L - x)", "joule": "I > 0, no Peltier heat"}
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
for key in CASES:
    xs = L - x if key == "minus" else x
    ax1.plot(xs, prof[key]["T (K)"], label=label[key], **style[key])
    ax2.plot(xs, prof[key]["phase"], **style[key])
ax1.axhline(tmit, color="gray", lw=0.8, label="T_MIT")
ax1.set_ylabel("T on the top centre line (K)")
ax1.legend(fontsize=8)
ax2.set_ylabel("phase m")
ax2.set_xlabel("x (mm); in the I > 0 runs the current enters at x = L and leaves at x = 0")
fig.suptitle("fig2a: reversing the current mirrors the solution; the Peltier term makes the ends differ", fontsize=10)
fig.tight_layout()
path = FIGURES / "polarity_mirror.png"
fig.savefig(path, dpi=110)
plt.close(fig)
print("wrote", path)

mirror = np.nanmax(np.abs(prof["plus"]["T (K)"] - prof["minus"]["T (K)"][::-1]))
peltier = np.nanmax(np.abs(prof["plus"]["T (K)"] - prof["joule"]["T (K)"]))
print(f"largest |T(x) - T_reversed(L - x)| on the top line: {mirror:.3f} K (mirror symmetry)")
print(f"largest |T(x) - T_no_Peltier(x)| on the top line: {peltier:.2f} K (effect of the Peltier heat)")
