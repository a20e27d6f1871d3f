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

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
import tomli_w
import ufl
from dolfinx import fem, io

from .config import Config
from .coupled import CoupledProblem

from .errors import InputError
from .fields import POTENTIAL, TEMPERATURE
from .terms import INTERFACE_FACETS, HeatSource
from .files import atomic_write_text, write_json_atomic
from .plotting import pyplot
from .sampling import probe_all, sample_top_grids, top_z


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
    for src in p.physics.sources:
        fields[src.name] = (
            _interface_source_field(p, src) if src.where == INTERFACE_FACETS else _film_source_field(p, src)
        )
    return fields


def _film_source_field(p: CoupledProblem, src: HeatSource) -> fem.Function:
    """A volume heat source (W/m^3) as a cell field, zero outside the film."""
    q = fem.Function(p.Q0, name=src.output_name)
    q.interpolate(fem.Expression(src.density, p.Q0.element.interpolation_points))
    q.x.array[~p.film_mask[: q.x.array.size]] = 0.0
    return q


def _interface_source_field(p: CoupledProblem, src: HeatSource) -> fem.Function:
    """An interface heat source (W/m^2) shown on the cells next to the interface: each cell
    gets (half the heat of its interface facets) / (half their area)."""
    w = ufl.TestFunction(p.Q0)
    dS = p.measures.of(src.where)
    heat = fem.assemble_vector(fem.form(src.density * 2 * ufl.avg(w) * dS))
    area = fem.assemble_vector(fem.form(2 * ufl.avg(w) * dS))
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


def write_pictures(directory: Path, problem: CoupledProblem, fields: dict[str, fem.Function]) -> list[Path]:
    """slice_T.png (T/T0 on y = W/2) and top_T.png (T/T0 on z = h) with metal outlines (collective)."""
    p = problem
    cfg = p.cfg
    g = cfg.geometry
    t0, tmit = cfg.thermal.t0, cfg.material.t_mit
    L, W, h, hs = g.length, g.width, g.thickness, g.substrate_thickness
    nx = 241
    # vertical slice y = W/2
    nz = max(41, int(61 * (h + hs) / h) if hs else 41)
    xs = np.linspace(0, L, nx)
    zs = np.linspace(-hs, h, nz)
    zs[-1] = top_z(h)
    X, Z = np.meshgrid(xs, zs)
    pts = np.column_stack([X.ravel(), np.full(X.size, W / 2), Z.ravel()])
    Ts, ms = (v.reshape(X.shape) for v in probe_all(p, [fields["T"], p.m], pts))
    ms[Z < 0] = 0.0
    # top surface z = h
    ny = max(21, int(nx * W / L))
    ys = np.linspace(0, W, ny)
    X2, Y2 = np.meshgrid(xs, ys)
    Tt, mt = sample_top_grids(p, [fields["T"], p.m], xs, ys)
    paths = [directory / "slice_T.png", directory / "top_T.png"]
    current = p.current()  # collective: never inside the rank-0 block below
    if p.comm.rank != 0:
        return paths
    plt = pyplot()
    mm = 1e3
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6.5), gridspec_kw={"height_ratios": [2, 1]})
    cs = ax.contourf(X * mm, Z * mm, Ts / t0, levels=40, cmap="inferno")
    fig.colorbar(cs, ax=ax, label="T / T0")
    if np.nanmax(ms) >= 0.5 > np.nanmin(ms):
        ax.contour(X * mm, Z * mm, ms, levels=[0.5], colors="cyan", linewidths=1.5)
    if np.nanmax(Ts) >= tmit > np.nanmin(Ts):
        ax.contour(X * mm, Z * mm, Ts, levels=[tmit], colors="white", linestyles="--", linewidths=1)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("z (mm)")
    ax.set_title(
        f"T/T0 at y = W/2, I = {current * 1e3:.4g} mA\ncyan: metal boundary (m = 0.5); white dashed: T = T_MIT",
        fontsize=9,
    )
    ax2.plot(xs * mm, Ts[-1] / t0, color="k", label="T(x, top)/T0")
    ax2.axhline(tmit / t0, color="tab:red", ls="--", label="T_MIT/T0")
    ax2.set_xlabel("x (mm)")
    ax2.set_ylabel("T / T0")
    ax2.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 7 * W / L + 1))
    cs = ax.contourf(X2 * mm, Y2 * mm, Tt / t0, levels=40, cmap="inferno")
    fig.colorbar(cs, ax=ax, label="T / T0")
    if np.nanmax(mt) >= 0.5 > np.nanmin(mt):
        ax.contour(X2 * mm, Y2 * mm, mt, levels=[0.5], colors="cyan", linewidths=1.5)
    if g.electrodes == "point":
        from matplotlib.patches import Rectangle

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
    ax.set_title("top surface T/T0\ncyan: metal outline (m = 0.5); green: electrodes (- left, + right)", fontsize=9)
    fig.tight_layout()
    fig.savefig(paths[1], dpi=120)
    plt.close(fig)
    return paths
