"""What the pictures say: a run's slice_T.png and top_T.png, a sweep's plots, the paper figures.

Catches: a picture without the drive (I and V) or the band width of the state it shows,
temperatures drawn as T/T0 instead of kelvin, a legend entry for something not drawn (or
without a label), a sweep plot with currents in two units (mA on the axes, A on the colour
scale), and a metal boundary on the slice that reaches further than the summary's
`metal_max_depth_m` (the depth of the deepest metal cell centre): on the coarse fig2a mesh
the contour of the cell-wise m followed the corners of a 0.14 mm cell down to z = 0.003 mm
while the summary put the deepest metal at z = 0.064 mm.

The Figures are inspected before they are saved (output.build_pictures,
sweep_plots.build_sweep_figures, figures.build_*); one coarse fig2a run (a few seconds)
serves the run and paper-figure checks, the sweep plots use a synthetic table.
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)

from pathlib import Path

import numpy as np
import pytest

COARSE = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]


# ---------------------------------------------------------------------------------------
# helpers: the texts, labels and legends of a matplotlib Figure


def titles(fig) -> str:
    """Every title of the figure (axes titles and the suptitle), one per line."""
    out = [t for ax in fig.axes for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return "\n".join(out)


def drive_texts(current_A: float, voltage_V: float, band_width_K: float) -> list[str]:
    return [f"I = {current_A * 1e3:.4g} mA", f"V = {voltage_V:.4g} V", f"band w = {band_width_K:.3g} K"]


def primary_labels(fig) -> list[str]:
    """x and y labels of the figure's axes, colorbars included (secondary axes are children, not here)."""
    return [lab for ax in fig.axes for lab in (ax.get_xlabel(), ax.get_ylabel()) if lab]


def colorbars(fig) -> list:
    return [m.colorbar for ax in fig.axes for m in [*ax.collections, *ax.images] if getattr(m, "colorbar", None)]


def _rgb(c) -> tuple:
    from matplotlib.colors import to_rgba

    return tuple(round(v, 3) for v in to_rgba(c)[:3])


def drawn_colours(ax) -> set[tuple]:
    """Colours of the artists that show data in `ax` (lines with points, non-empty collections, patches)."""
    out = set()
    for line in ax.get_lines():
        if len(line.get_xdata()):
            out.add(_rgb(line.get_color()))
    for coll in ax.collections:
        if any(len(p.vertices) for p in coll.get_paths()):
            out.update(_rgb(c) for c in [*coll.get_edgecolor(), *coll.get_facecolor()])
    for patch in ax.patches:
        out.update({_rgb(patch.get_edgecolor()), _rgb(patch.get_facecolor())})
    return out


def empty_legend_entries(fig) -> list[str]:
    """Legend entries without a label, or whose colour nothing in their axes is drawn with."""
    bad = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        drawn = drawn_colours(ax)
        for text, handle in zip(leg.get_texts(), leg.legend_handles):
            label = text.get_text()
            if not label.strip() or label.startswith("_"):
                bad.append(f"unlabelled entry {label!r}")
                continue
            if hasattr(handle, "get_color"):
                colour = handle.get_color()
            elif hasattr(handle, "get_facecolor"):
                colour = handle.get_facecolor()
            else:
                colour = handle.get_edgecolor()[0]
            if _rgb(colour) not in drawn:
                bad.append(f"{label!r}: nothing drawn in its colour")
    return bad


def assert_temperatures_in_kelvin(fig, t0: float) -> None:
    labels = primary_labels(fig)
    assert not [lab for lab in labels if "T / T0" in lab or "T/T0" in lab], labels  # T/T0 only on second axes
    cbs = colorbars(fig)
    assert cbs, "no colorbar"
    for cb in cbs:
        assert cb.ax.get_ylabel() == "T (K)" or cb.ax.get_xlabel() == "T (K)", (cb.ax.get_xlabel(), cb.ax.get_ylabel())
        assert cb.mappable.norm.vmin >= 0.99 * t0, "the colour scale is not in kelvin"
        secondary = [c for c in cb.ax.child_axes if "T / T0" in (c.get_ylabel() + c.get_xlabel())]
        assert secondary, "no T / T0 axis on the colorbar"


def close(figs) -> None:
    from fem_peltier.plotting import pyplot

    for fig in figs:
        pyplot().close(fig)


# ---------------------------------------------------------------------------------------
# one coarse fig2a run (10 mA): the run pictures and the paper figures


@pytest.fixture(scope="module")
def fig2a():
    import fem_peltier as fp
    from fem_peltier.simulation import run

    res = run(fp.load_config(preset="fig2a", overrides=COARSE), out=None, pictures=False)
    assert res.converged
    return res


@pytest.fixture(scope="module")
def run_pictures(fig2a):
    from fem_peltier.output import build_pictures, sample_pictures

    data = sample_pictures(fig2a.problem, fig2a.fields)
    figs = build_pictures(data)
    yield data, figs
    close(figs.values())


def test_run_pictures_name_drive_and_band(fig2a, run_pictures):
    s = fig2a.summary
    _, figs = run_pictures
    assert set(figs) == {"slice_T.png", "top_T.png"}
    for name, fig in figs.items():
        text = titles(fig)
        for want in drive_texts(s["current_A"], s["voltage_V"], s["band_width_K"]):
            assert want in text, f"{name}: {want!r} not in {text!r}"


def test_run_pictures_in_kelvin_without_empty_legend_entries(fig2a, run_pictures):
    _, figs = run_pictures
    for name, fig in figs.items():
        assert_temperatures_in_kelvin(fig, fig2a.summary["T0_K"])
        assert not empty_legend_entries(fig), (name, empty_legend_entries(fig))
    labels = primary_labels(figs["slice_T.png"])
    assert "T (K)" in labels  # the top-line plot


def _deepest_metal_cell_size(problem) -> float:
    n_own = problem.msh.topology.index_map(3).size_local
    m = problem.m.x.array[problem.Q0.dofmap.list[:n_own, 0]]
    zc = problem.xc.x.array.reshape(-1, 3)[problem.xc.function_space.dofmap.list[:n_own, 0], 2]
    metal = (m >= 0.5) & problem.film_mask[:n_own]
    cell = np.flatnonzero(metal)[np.argmin(zc[metal])]
    return float(problem.msh.h(3, np.array([cell], dtype=np.int32))[0])


def test_slice_metal_boundary_agrees_with_summary_depth(fig2a, run_pictures):
    """The lowest point of the metal boundary drawn on the slice is where the summary puts the
    deepest metal (z = h - metal_max_depth_m), to a quarter of that cell's size; the marker
    sits on that centre. (Before: the contour of the cell-wise m followed the cells' corners,
    0.44 of the cell size below the centre.)"""
    from fem_peltier.plotting import DEEPEST_METAL, METAL_BOUNDARY

    s, p = fig2a.summary, fig2a.problem
    h = p.cfg.geometry.thickness
    z_summary = h - s["metal_max_depth_m"]
    data, figs = run_pictures
    deepest = data["deepest_metal"]
    assert deepest is not None and deepest["on_slice"], "the case no longer has its deepest metal on y = W/2"
    assert deepest["depth"] == pytest.approx(s["metal_max_depth_m"], rel=1e-12)
    fig = figs["slice_T.png"]
    boundary = fig.findobj(lambda a: a.get_gid() == METAL_BOUNDARY)
    assert len(boundary) == 1
    z_drawn = min(path.vertices[:, 1].min() for path in boundary[0].get_paths() if len(path.vertices)) * 1e-3
    cell = _deepest_metal_cell_size(p)
    print(
        f"\nlowest drawn metal z = {z_drawn * 1e3:.4f} mm, summary z = {z_summary * 1e3:.4f} mm, "
        f"cell {cell * 1e3:.3f} mm"
    )
    assert abs(z_drawn - z_summary) <= 0.25 * cell
    (marker,) = fig.findobj(lambda a: a.get_gid() == DEEPEST_METAL)
    assert marker.get_ydata()[0] * 1e-3 == pytest.approx(z_summary, rel=1e-12)


def test_local_phase_law_is_the_cell_m_at_the_centres(fig2a):
    """The slice's m(x) (phase law at the local T) equals each cell's m at its centre, so its
    m = 0.5 contour separates metal from insulating cell centres."""
    from fem_peltier.output import local_metal_fraction
    from fem_peltier.sampling import probe_all

    p = fig2a.problem
    n_own = p.msh.topology.index_map(3).size_local
    xc = p.xc.x.array.reshape(-1, 3)[p.xc.function_space.dofmap.list[:n_own, 0]]
    T, centre = probe_all(p, [fig2a.fields["T"], p.law.centre], xc)
    m_local = local_metal_fraction(p, T, centre)
    m_cell = p.m.x.array[p.Q0.dofmap.list[:n_own, 0]]
    assert np.array_equal(m_local >= 0.5, m_cell >= 0.5)
    assert np.max(np.abs(m_local - m_cell)) < 1e-6


def test_paper_figures_name_drive_band_and_kelvin(fig2a):
    from fem_peltier import figures
    from fem_peltier.plotting import DEEPEST_METAL

    from fem_peltier.output import deepest_metal_centre

    s, p = fig2a.summary, fig2a.problem
    # sample_case's content on coarser grids (the point location costs ~0.1 ms a point)
    data = {
        "slice": figures.sample_slice(p, fig2a.fields["T"], nx=120, nz=40),
        "top": figures.sample_top(p, fig2a.fields["T"], nx=60, ny=60),
        "deepest_metal": deepest_metal_centre(p),
        "summary": s,
        "cfg": p.cfg,
    }
    built = {
        "case": figures.build_case("fig2a", data),
        "polarity": figures.build_polarity(data, data),
        "fig2e": figures.build_fig2e([(s["current_A"], data)]),
    }
    try:
        for name, fig in built.items():
            legend_text = "\n".join(t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts)
            for want in drive_texts(s["current_A"], s["voltage_V"], s["band_width_K"]):
                where = titles(fig) if name != "fig2e" or want.startswith("band") else legend_text
                assert want in where, f"{name}: {want!r} not in {where!r}"
            assert not empty_legend_entries(fig), (name, empty_legend_entries(fig))
            if name != "fig2e":
                assert_temperatures_in_kelvin(fig, s["T0_K"])
        (marker,) = built["case"].findobj(lambda a: a.get_gid() == DEEPEST_METAL)
        L, h = data["cfg"].geometry.length, data["cfg"].geometry.thickness
        assert marker.get_ydata()[0] * L == pytest.approx(h - s["metal_max_depth_m"], rel=1e-12)
    finally:
        close(built.values())


# ---------------------------------------------------------------------------------------
# sweep plots from a synthetic sweep table (no solve)


def _sweep(tmp_path: Path, currents: list[float], converged: list[bool] | None = None):
    from fem_peltier.sweep_plan import STATE_FILE
    from fem_peltier.sweep_report import switching_report

    converged = converged or [True] * len(currents)
    xs, ys = np.linspace(0, 1e-3, 41), np.linspace(0, 1e-3, 41)
    X, Y = np.meshgrid(xs, ys)
    rows = []
    for i, (c, ok) in enumerate(zip(currents, converged)):
        run_dir = f"point_{i:03d}"
        (tmp_path / run_dir).mkdir()
        r = 0.1e-3 * abs(c) / 1e-3  # a metal half disc at x = 0 growing with |I|
        np.savez(tmp_path / run_dir / STATE_FILE, top_x=xs, top_y=ys, top_m=(np.hypot(X, Y - 0.5e-3) < r) * 1.0)
        rows.append(
            {
                "point": str(i),
                "direction": "up" if i == 0 or abs(c) >= abs(currents[i - 1]) else "down",
                "current_set_A": repr(c),
                "run_dir": run_dir,
                "converged": "true" if ok else "false",
                "current_A": repr(c),
                "voltage_V": repr(1.0 + 300 * abs(c)),
                "metal_fraction": repr(0.01 * abs(c) / 1e-3),
                "band_width_K": "3.0",
            }
        )
    return rows, switching_report(rows, "current_set_A", 1e-3)


@pytest.mark.parametrize(
    "currents", [[0.002, 0.004, 0.006], [0.002, 0.004, 0.006, 0.004, 0.002]], ids=["up only", "up and down"]
)
def test_sweep_plots_one_current_unit_drive_band_and_full_legends(tmp_path, currents):
    from fem_peltier.sweep_plan import CURRENT, PLOT_BOUNDARIES
    from fem_peltier.sweep_plots import build_sweep_figures

    rows, report = _sweep(tmp_path, currents)
    figs = build_sweep_figures(tmp_path, rows, CURRENT, report, {"length": 1e-3, "width": 1e-3})
    try:
        assert len(figs) == 3
        for name, fig in figs.items():
            text = titles(fig)
            for want in ("I = 2 to 6 mA", "V = 1.6 to 2.8 V", "band w = 3 K"):
                assert want in text, f"{name}: {want!r} not in {text!r}"
            labels = primary_labels(fig)
            units = {lab[lab.rindex("(") :] for lab in labels if lab.startswith(("current", "|I|"))}
            assert units == {"(mA)"}, (name, labels)
            assert not empty_legend_entries(fig), (name, empty_legend_entries(fig))
        (cax,) = [ax for ax in figs[PLOT_BOUNDARIES].axes if ax.get_ylabel() == "|I| (mA)"]
        assert cax.get_ylim() == pytest.approx((2.0, 6.0))  # the colour scale in mA as well
        if currents == sorted(currents):
            assert "dashed: ramp down" not in titles(figs[PLOT_BOUNDARIES])
    finally:
        close(figs.values())


def test_sweep_plot_marks_unconverged_points_in_its_legend(tmp_path):
    from fem_peltier.sweep_plan import CURRENT, PLOT_VI
    from fem_peltier.sweep_plots import build_sweep_figures

    rows, report = _sweep(tmp_path, [0.002, 0.004, 0.006], converged=[True, False, True])
    figs = build_sweep_figures(tmp_path, rows, CURRENT, report, {"length": 1e-3, "width": 1e-3})
    try:
        legend = [t.get_text() for t in figs[PLOT_VI].axes[0].get_legend().texts]
        assert "not converged" in legend and not empty_legend_entries(figs[PLOT_VI])
        assert "I = 2 to 6 mA" in titles(figs[PLOT_VI])  # converged points only
    finally:
        close(figs.values())
