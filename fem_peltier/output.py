"""Results on disk: an atomically published run directory, summary.json, fields, pictures.

A run writes into a hidden sibling directory ``.NAME.partial-XXXX`` and renames
it to ``NAME`` only when everything (summary.json last) is written, so a
directory called NAME is always complete. An existing NAME is replaced only when
the caller allows it (``--overwrite``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
import tomli_w
import ufl
from dolfinx import fem, io

from .config import Config
from .coupled import CoupledProblem

from .errors import InputError
from .fields import EXCESS, POTENTIAL, TEMPERATURE
from .terms import FILM_CELLS, INTERFACE_FACETS, HeatSource
from .files import atomic_write_text, write_json_atomic
from .plotting import DEEPEST_METAL, METAL_BOUNDARY, drive_label, kelvin_colorbar, pyplot, t_over_t0_axis
from .sampling import probe_all, sample_top_grids, top_z
from .vtk_output import FIELDS_VTU, cell_tag_array, write_fields_vtu


@contextlib.contextmanager
def staged_directory(out: Path, overwrite: bool, comm: MPI.Comm) -> Iterator[Path]:
    """Yield a temporary directory that becomes `out` on success (collective).

    The published directory has the mode a plain mkdir gives under the user's umask
    (tempfile.mkdtemp alone would leave it 0700).
    """
    from .files import staging_directory

    out = Path(out)
    err = None
    tmp = None
    if comm.rank == 0:
        try:
            if out.exists() and not overwrite:
                raise InputError(str(out), "output directory already exists; pass --overwrite to replace its results")
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = staging_directory(f".{out.name}.partial-", out.parent)
        except InputError as exc:
            err = exc
        except OSError as exc:
            err = InputError(str(out), f"cannot create the output directory ({exc.strerror or exc})")
    err, tmp = comm.bcast((err, tmp), root=0)
    if err is not None:
        raise err
    ok = False
    try:
        yield Path(tmp)
        ok = True
    finally:
        # no barrier on the way out of an exception: it may be raised on one rank only while
        # the others wait in a collective call; the CLI then aborts all ranks (no hang)
        if ok or comm.size == 1:
            comm.barrier()
        if comm.rank == 0:
            if ok:
                if out.exists():
                    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                    os.replace(out, trash / "old")
                    shutil.rmtree(trash, ignore_errors=True)
                os.replace(tmp, out)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        if ok or comm.size == 1:
            comm.barrier()


def write_json(path: Path, data: dict, comm: MPI.Comm) -> None:
    """Write JSON from rank 0 via a temporary file and an atomic rename."""
    if comm.rank == 0:
        write_json_atomic(path, data)


def write_config(path: Path, cfg: Config, comm: MPI.Comm) -> None:
    """The resolved configuration as TOML (rank 0, atomically)."""
    if comm.rank == 0:
        atomic_write_text(
            path, "# resolved fem_peltier configuration of this run (SI units)\n" + tomli_w.dumps(cfg.to_toml_dict())
        )


def output_fields(problem: CoupledProblem) -> dict[str, fem.Function]:
    """The physical fields with ParaView-friendly names (units in the names): T, phi, j, the
    phase and one cell field per heat source (W/m^3, or W/m^2 for an interface source)."""
    p = problem
    msh = p.msh
    T = p.unknowns.function(TEMPERATURE, "temperature_K")
    phi = p.unknowns.function(POTENTIAL, "potential_V")
    Qv = fem.functionspace(msh, ("DG", 0, (msh.geometry.dim,)))
    j = fem.Function(Qv, name="current_density_A_m2")
    j.interpolate(fem.Expression(p.j, Qv.element.interpolation_points))
    phase = fem.Function(p.Q0, name="phase")
    phase.x.array[:] = p.m.x.array
    # zero the (meaningless) current in substrate cells
    j.x.array.reshape(-1, 3)[~p.film_mask[: j.x.array.size // 3]] = 0.0
    fields = {"T": T, "phi": phi, "j": j, "phase": phase}
    if p.two_temperatures:  # temperature_K is then the lattice's, T_e = T_l + theta the electrons'
        T_e = fem.Function(T.function_space, name="electron_temperature_K")
        T_e.x.array[:] = T.x.array + p.unknowns.values(EXCESS)
        fields["T_electron"] = T_e
    for src in p.physics.sources:
        fields[src.name] = _film_source_field(p, src) if src.where == FILM_CELLS else _interface_source_field(p, src)
    return fields


def _film_source_field(p: CoupledProblem, src: HeatSource) -> fem.Function:
    """A volume heat source (W/m^3) as a cell field, zero outside the film."""
    q = fem.Function(p.Q0, name=src.output_name)
    q.interpolate(fem.Expression(src.density, p.Q0.element.interpolation_points))
    q.x.array[~p.film_mask[: q.x.array.size]] = 0.0
    return q


def _interface_source_field(p: CoupledProblem, src: HeatSource) -> fem.Function:
    """An interface (or contact) heat source (W/m^2) shown on the cells next to its facets:
    each cell gets (half the heat of its interface facets) / (half their area), or on the
    contacts (the heat of its contact facets) / (their area)."""
    w = ufl.TestFunction(p.Q0)
    interface = src.where == INTERFACE_FACETS
    test = 2 * ufl.avg(w) if interface else w
    heat, area = fem.Function(p.Q0).x, fem.Function(p.Q0).x
    # the interface facets chunk by chunk, as the Newton forms (coupled.CoupledProblem.interface_chunks)
    for dS in p.interface_measures() if interface else [p.measures.of(src.where)]:
        heat.array[:] += fem.assemble_vector(fem.form(src.density * test * dS)).array
        area.array[:] += fem.assemble_vector(fem.form(test * dS)).array
    heat.scatter_reverse(_add())
    area.scatter_reverse(_add())
    q = fem.Function(p.Q0, name=src.output_name)
    with np.errstate(invalid="ignore", divide="ignore"):
        q.x.array[:] = np.where(area.array > 0, heat.array / np.where(area.array > 0, area.array, 1.0), 0.0)
    q.x.scatter_forward()
    return q


def _add():
    import dolfinx.la

    return dolfinx.la.InsertMode.add


def write_fields(directory: Path, problem: CoupledProblem, fields: dict[str, fem.Function]) -> Path:
    """fields.xdmf (+ .h5): mesh, cell and facet tags, and every field (collective)."""
    path = directory / "fields.xdmf"
    msh = problem.msh
    msh.name = "film"
    with io.XDMFFile(problem.comm, str(path), "w") as xf:
        xf.write_mesh(msh)
        problem.fm.cell_tags.name = "cell_tags"
        problem.fm.facet_tags.name = "facet_tags"
        xf.write_meshtags(problem.fm.cell_tags, msh.geometry)
        xf.write_meshtags(problem.fm.facet_tags, msh.geometry)
        for f in fields.values():
            xf.write_function(f, 0.0)
    return path


def write_fields_vtk(directory: Path, problem: CoupledProblem, fields: dict[str, fem.Function]) -> Path:
    """fields.vtu: the whole mesh with every field and the cell tags as one grid that
    pyvista.read and ParaView open without DOLFINx (gathered on rank 0; collective)."""
    msh = problem.msh
    tags = {"cell_tags": cell_tag_array(msh, problem.fm.cell_tags)}
    return write_fields_vtu(directory / FIELDS_VTU, msh, fields.values(), tags)


def local_metal_fraction(problem: CoupledProblem, T: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The phase law at the local temperature: m(x) = (1 + tanh((T(x) - T_centre)/w)) / 2 with the
    band centre of the cell holding x and the state's band width w (numpy; NaN stays NaN).

    A cell's metal fraction is this law at its centre (the phase is driven by the cell-mean
    temperature, which for P1 is the centre value), so the m = 0.5 contour of m(x) separates
    the centres of metal cells from those of insulating ones: it is the metal boundary as
    `metal_max_depth_m` (the depth of the deepest metal cell centre) measures it, without the
    cell-shaped staircase of the piecewise-constant m (whose corners reach up to a cell beyond
    the centres).
    """
    w = float(problem.law.width.value)
    with np.errstate(invalid="ignore"):
        return 0.5 * (1.0 + np.tanh(np.clip((T - centre) / w, -20.0, 20.0)))


def deepest_metal_centre(problem: CoupledProblem) -> dict | None:
    """The centre of the deepest metal film cell (m >= 0.5; smallest centre z, as
    `metal_max_depth_m`) and whether that cell is cut by the slice y = W/2; None without
    metal (collective: every rank gets the same answer)."""
    p = problem
    tdim = p.msh.topology.dim
    n_own = p.msh.topology.index_map(tdim).size_local
    m_cell = p.m.x.array[p.Q0.dofmap.list[:n_own, 0]]
    xc = p.xc.x.array.reshape(-1, 3)[p.xc.function_space.dofmap.list[:n_own, 0]]
    metal = np.flatnonzero((m_cell >= 0.5) & p.film_mask[:n_own])
    mine = None
    if metal.size:
        half_w = p.cfg.geometry.width / 2
        y = p.msh.geometry.x[p.msh.geometry.dofmaps[0][metal], 1]
        cut = (y.min(axis=1) <= half_w) & (y.max(axis=1) >= half_w)
        # the deepest centre; among equally deep ones a cell on the slice
        k = np.lexsort((~cut, xc[metal, 2]))[0]
        mine = (float(xc[metal[k], 2]), not bool(cut[k]), [float(v) for v in xc[metal[k]]])
    found = [c for c in p.comm.allgather(mine) if c is not None]
    if not found:
        return None
    z, off, x = min(found)
    return {"centre": np.array(x), "on_slice": not off, "depth": p.cfg.geometry.thickness - z}


def sample_pictures(problem: CoupledProblem, fields: dict[str, fem.Function]) -> dict:
    """Everything slice_T.png and top_T.png show, sampled on every rank (collective)."""
    p = problem
    g = p.cfg.geometry
    L, W, h, hs = g.length, g.width, g.thickness, g.substrate_thickness
    nx = 241
    # vertical slice y = W/2
    nz = max(41, int(61 * (h + hs) / h) if hs else 41)
    xs = np.linspace(0, L, nx)
    zs = np.linspace(-hs, h, nz)
    zs[-1] = top_z(h)
    X, Z = np.meshgrid(xs, zs)
    pts = np.column_stack([X.ravel(), np.full(X.size, W / 2), Z.ravel()])
    Ts, centre = (v.reshape(X.shape) for v in probe_all(p, [fields["T"], p.law.centre], pts))
    ms = local_metal_fraction(p, Ts, centre)
    ms[Z < 0] = 0.0
    # top surface z = h
    ny = max(21, int(nx * W / L))
    ys = np.linspace(0, W, ny)
    Tt, mt = sample_top_grids(p, [fields["T"], p.m], xs, ys)
    return {
        "cfg": p.cfg,
        "current_A": p.current(),  # collective
        "voltage_V": p.V,
        "band_width_K": float(p.law.width.value),
        "deepest_metal": deepest_metal_centre(p),  # collective
        "slice": {"x": xs, "z": zs, "T": Ts, "m": ms},
        "top": {"x": xs, "y": ys, "T": Tt, "m": mt},
    }


def build_pictures(data: dict) -> dict[str, Any]:
    """The matplotlib Figures of slice_T.png and top_T.png from `sample_pictures` (rank 0)."""
    from matplotlib.patches import Rectangle

    plt = pyplot()
    cfg = data["cfg"]
    g = cfg.geometry
    t0, tmit = cfg.thermal.t0, cfg.material.t_mit
    L, W = g.length, g.width
    drive = drive_label(data["current_A"], data["voltage_V"], data["band_width_K"])
    mm = 1e3
    sl, top = data["slice"], data["top"]
    X, Z = np.meshgrid(sl["x"], sl["z"])
    Ts, ms = sl["T"], sl["m"]

    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 5.8), gridspec_kw={"height_ratios": [1.6, 1]}, layout="constrained")
    cs = ax.contourf(X * mm, Z * mm, Ts, levels=40, cmap="inferno")
    kelvin_colorbar(fig, cs, ax, t0, orientation="horizontal", shrink=0.8, aspect=40)
    if np.nanmax(ms) >= 0.5 > np.nanmin(ms):
        ax.contour(X * mm, Z * mm, ms, levels=[0.5], colors="cyan", linewidths=1.5).set_gid(METAL_BOUNDARY)
    hysteresis = cfg.material.hysteresis
    if hysteresis and np.nanmax(Ts) >= tmit > np.nanmin(Ts):  # without hysteresis: the cyan line
        ax.contour(X * mm, Z * mm, Ts, levels=[tmit], colors="white", linestyles="--", linewidths=1)
    deepest = data["deepest_metal"]
    if deepest is None:
        where = "no metal"
    elif deepest["on_slice"]:
        c = deepest["centre"]
        ax.plot([c[0] * mm], [c[2] * mm], "x", color="cyan", ms=7, mew=1.5, gid=DEEPEST_METAL)
        depth = deepest["depth"] * mm
        where = f"cyan x: centre of the deepest metal cell, metal_max_depth_m = {depth:.3g} mm below the top"
    else:
        where = f"the deepest metal cell (metal_max_depth_m = {deepest['depth'] * mm:.3g} mm) is off this slice"
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("z (mm)")
    law = (
        f"T_MIT -/+ H/2 = {tmit:g} -/+ {hysteresis / 2:g} K in metal/insulating cells; white dashed: T = T_MIT"
        if hysteresis
        else f"the isotherm T = T_MIT = {tmit:g} K"
    )
    ax.set_title(
        f"T at y = W/2; {drive}\ncyan: metal boundary, m = 0.5 of the phase law at the local T ({law})\n{where}",
        fontsize=8,
    )
    ax2.plot(sl["x"] * mm, Ts[-1], color="k", label="T(x, W/2, top)")
    ax2.axhline(tmit, color="tab:red", ls="--", label=f"T_MIT = {tmit:g} K")
    ax2.set_xlabel("x (mm)")
    ax2.set_ylabel("T (K)")
    t_over_t0_axis(ax2, t0)
    ax2.legend(loc="best", fontsize=8)
    figures = {"slice_T.png": fig}

    X2, Y2 = np.meshgrid(top["x"], top["y"])
    Tt, mt = top["T"], top["m"]
    fig, ax = plt.subplots(figsize=(7.5, 7 * W / L + 1), layout="constrained")
    cs = ax.contourf(X2 * mm, Y2 * mm, Tt, levels=40, cmap="inferno")
    kelvin_colorbar(fig, cs, ax, t0, shrink=0.8)
    if np.nanmax(mt) >= 0.5 > np.nanmin(mt):
        ax.contour(X2 * mm, Y2 * mm, mt, levels=[0.5], colors="cyan", linewidths=1.5).set_gid(METAL_BOUNDARY)
    if g.electrodes == "point":
        for x0 in (0.0, L - g.electrode_length):
            ax.add_patch(
                Rectangle(
                    (x0 * mm, (W - g.electrode_width) / 2 * mm),
                    g.electrode_length * mm,
                    g.electrode_width * mm,
                    fill=False,
                    ec="lime",
                    lw=1,
                )
            )
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(
        f"T on the top surface z = h; {drive}\n"
        "cyan: outline of the metal cells (m >= 0.5); green: electrodes (- left, + right)",
        fontsize=8,
    )
    figures["top_T.png"] = fig
    return figures


def write_pictures(directory: Path, problem: CoupledProblem, fields: dict[str, fem.Function]) -> list[Path]:
    """slice_T.png (T on y = W/2) and top_T.png (T on z = h) with metal outlines (collective)."""
    data = sample_pictures(problem, fields)  # collective: never inside the rank-0 block below
    paths = [directory / "slice_T.png", directory / "top_T.png"]
    if problem.comm.rank != 0:
        return paths
    plt = pyplot()
    for name, fig in build_pictures(data).items():
        fig.savefig(directory / name, dpi=120)
        plt.close(fig)
    return paths
