"""Benchmark (issue 18): adaptive refinement against uniform refinement, error vs cells and vs seconds.

For each case (fig2a; fig2d at its default 10 mA; the slab at its default 1.5 j_cr), in one run
of this script (so the times are comparable):

(a) an adaptive sequence: `mesh.adapt.levels = N` (default fraction 0.5, band on, target 1e-4
    so that every level is run) from a coarse generated mesh; per level the cells, unknowns,
    V, T_max, metal fraction, Newton steps, marked cells and the cumulative wall time (mesh +
    every level up to this one, as a level needs the previous ones);
(b) a uniform reference: generated meshes with `mesh.size` and `mesh.electrode_size` both
    divided by sqrt(2) per step (about x2.8 cells), each run cold (default mesh sequencing);
    its time is the mesh + solve of that run alone.

The mesh limit of V, T_max and the metal fraction is extrapolated from the last three points
of each sequence, q(N) = q_inf + C N^-a (N cells; for a uniform sequence the order in h is
p = 3a), trusted when the last change is below 0.8 of the one before (the criterion of
fem_peltier.adaptive.error_estimates); the limit used for the error columns is, per quantity,
the trusted one with the smallest extrapolation correction (none trusted: the tables say so). Then the
error relative to that limit is tabulated vs cells and vs seconds for both sequences, side by
side, and the cells/time from which a sequence stays within 1% of the limit.

The x- and z-ranges of the smallest cells of the final adapted mesh are compared with those of
the phase front (the partially metallic cells); `--where RUN_DIR` tabulates the cells and their
mean size per z, y and x slice of a written run's mesh (the adaptive runs are written to
/tmp/adapt_CASE_*/run). With `--picture PNG`, the
final adapted fig2a mesh around the negative electrode (top surface z = h, cells coloured by
their size, edges shown) is drawn off-screen with pyvista.

    .venv/bin/python benchmarks/adapt.py --cases fig2a --levels 2 --uniform-steps=-2,-1,0 --quick
    .venv/bin/python benchmarks/adapt.py --cases fig2a --picture docs/img/adapt_mesh_fig2a.png
    .venv/bin/python benchmarks/adapt.py --cases fig2d,slab
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/adapt.py --cases fig2a,fig2d,slab
    .venv/bin/python benchmarks/adapt.py --cases fig2a --skip-uniform   # the sequences apart ...
    .venv/bin/python benchmarks/adapt.py --cases fig2a --skip-adaptive
    .venv/bin/python benchmarks/adapt.py --analyse RUN_ID,RUN_ID      # ... tabulated together
    .venv/bin/python benchmarks/adapt.py --where /tmp/adapt_slab_XXXX/run   # cell sizes by slice
    .venv/bin/python benchmarks/adapt.py --picture-from RUN_DIR --picture out.png
    .venv/bin/python benchmarks/adapt.py --import-run fig2a:RUN_DIR:RUN_ID   # levels of a written run

The cost is given as wall time and as CPU time of the process (max over ranks): on a machine
shared with other jobs the wall time is inflated by the load, the CPU time much less.

Rows are appended to benchmarks/results/adapt.csv (one per level / mesh, with the run id);
the tables are printed as Markdown (rank 0 only).
"""

from __future__ import annotations

import argparse
import csv
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from mpi4py import MPI

import numpy as np

import fem_peltier as fp
from fem_peltier.mesh import ELECTRODE_NEG, create_mesh

from report import record  # benchmarks/report.py (the script's own folder is on sys.path)

RESULTS = Path(__file__).parent / "results"
GOALS = ("voltage_V", "T_max_K", "metal_fraction")
ASYMPTOTIC_RATIO = 0.8
"""An extrapolation is trusted when the last change is below this fraction of the one before
(the criterion of fem_peltier.adaptive.error_estimates)."""
SHORT = {"voltage_V": "V", "T_max_K": "T_max", "metal_fraction": "metal"}

# per case: the adaptive sequence's initial mesh (size, electrode size in m), its levels, and the
# uniform steps k (mesh.size and mesh.electrode_size = preset default / sqrt(2)^k)
CASES = {
    "fig2a": {"adapt_mesh": (1e-4, 2e-5), "levels": 3, "uniform": [-2, -1, 0, 1, 2, 3]},
    "fig2d": {"adapt_mesh": (1e-4, 2e-5), "levels": 3, "uniform": [-2, -1, 0, 1, 2, 3]},
    "slab": {"adapt_mesh": (2e-5 * 2**1.5, 5e-6 * 2**1.5), "levels": 3, "uniform": [-2, -1, 0, 1, 2]},
}


def is_root() -> bool:
    return MPI.COMM_WORLD.rank == 0


def say(*a) -> None:
    if is_root():
        print(*a, flush=True)


def base_overrides(size: float, esize: float, adapt: dict | None = None) -> list[str]:
    ov = [f"mesh.size={size!r}", f"mesh.electrode_size={esize!r}", "mesh.max_cells=20000000"]
    if adapt:
        ov += [f"mesh.adapt.{k}={v}" for k, v in adapt.items()]
    return ov


def smallest_cells_report(problem) -> dict:
    """Where the smallest film cells are (x, z ranges) and where the phase front is (the cells
    with 0.1 < m < 0.9), gathered over the ranks."""
    msh = problem.msh
    tdim = msh.topology.dim
    n_own = msh.topology.index_map(tdim).size_local
    h = msh.h(tdim, np.arange(n_own, dtype=np.int32))
    xc = problem.xc.x.array.reshape(-1, 3)[problem.xc.function_space.dofmap.list[:n_own, 0]]
    m = problem.m.x.array[problem.Q0.dofmap.list[:n_own, 0]]
    film = problem.film_mask[:n_own]
    comm = problem.comm
    h_all = np.concatenate(comm.allgather(h[film]))
    x_all = np.concatenate(comm.allgather(xc[film]))
    m_all = np.concatenate(comm.allgather(m[film]))
    h_min = float(h_all.min())
    small = h_all <= 1.5 * h_min
    front = (m_all > 0.1) & (m_all < 0.9)

    def rng(pts, axis):
        if not pts.size:
            return "-"
        lo, hi = np.percentile(pts[:, axis], [5, 95])
        return f"{lo * 1e6:.1f}..{hi * 1e6:.1f}"

    return {
        "h_min_um": round(h_min * 1e6, 3),
        "h_max_um": round(float(h_all.max()) * 1e6, 2),
        "small_cells": int(small.sum()),
        "small_x_um_p5_p95": rng(x_all[small], 0),
        "small_z_um_p5_p95": rng(x_all[small], 2),
        "front_cells": int(front.sum()),
        "front_x_um_p5_p95": rng(x_all[front], 0),
        "front_z_um_p5_p95": rng(x_all[front], 2),
    }


def picture(msh, facet_tags, path: Path) -> None:
    """Top surface z = h of the adapted film around the negative electrode, the surface
    triangles coloured by log10 of the size of their cell (um), edges shown; off-screen.
    Built from the DOLFINx mesh (the boundary facets at z = h); under MPI, rank 0's part only."""
    import pyvista
    from dolfinx import mesh as dmesh

    pyvista.OFF_SCREEN = True
    comm = msh.comm
    n_cells = msh.topology.index_map(msh.topology.dim).size_global
    tdim = msh.topology.dim
    if comm.size > 1:
        say("picture: drawn from rank 0's part of the mesh only; run serially for the whole mesh")
    x = msh.geometry.x
    z_top = comm.allreduce(float(x[:, 2].max()), op=MPI.MAX)
    x_lo = comm.allreduce(float(x[:, 0].min()), op=MPI.MIN)
    msh.topology.create_connectivity(tdim - 1, tdim)
    top = dmesh.locate_entities_boundary(msh, tdim - 1, lambda p: np.isclose(p[2], z_top, rtol=0, atol=1e-9 * z_top))
    f2c = msh.topology.connectivity(tdim - 1, tdim)
    cells = np.array([f2c.links(f)[0] for f in top], dtype=np.int32)
    h = msh.h(tdim, cells)
    tri = dmesh.entities_to_geometry(msh, tdim - 1, top)
    neg = facet_tags.find(ELECTRODE_NEG)
    if not is_root():
        return
    pts = x[dmesh.entities_to_geometry(msh, tdim - 1, neg).ravel()] if neg.size else x[tri.ravel()]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    faces = np.hstack([np.full((len(tri), 1), 3), tri]).astype(np.int64).ravel()
    surf = pyvista.PolyData(x.copy(), faces)
    surf.cell_data["log10 h (um)"] = np.log10(h * 1e6)
    span = max(hi[0] - lo[0], hi[1] - lo[1])
    cx, cy = 0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])
    box = (max(cx - 1.0 * span, x_lo), cx + 1.0 * span, cy - 0.7 * span, cy + 0.7 * span, z_top - span, z_top + span)
    pl = pyvista.Plotter(off_screen=True, window_size=(900, 760))
    pl.add_mesh(
        surf.clip_box(box, invert=False),
        scalars="log10 h (um)",
        show_edges=True,
        edge_color="black",
        line_width=0.5,
        cmap="viridis",
        scalar_bar_args={"title": "log10 of the cell size h (um)", "vertical": False, "position_x": 0.25, "width": 0.5},
    )
    pl.add_lines(
        np.array(
            [
                [lo[0], lo[1], z_top],
                [hi[0], lo[1], z_top],
                [hi[0], lo[1], z_top],
                [hi[0], hi[1], z_top],
                [hi[0], hi[1], z_top],
                [lo[0], hi[1], z_top],
                [lo[0], hi[1], z_top],
                [lo[0], lo[1], z_top],
            ]
        ),
        color="red",
        width=3,
    )
    pl.add_text(
        f"fig2a adapted mesh ({n_cells} cells), top surface z = h; red: negative electrode\n"
        f"(x {lo[0] * 1e6:.0f}..{hi[0] * 1e6:.0f} um, y {lo[1] * 1e6:.0f}..{hi[1] * 1e6:.0f} um)",
        font_size=9,
    )
    pl.view_xy()
    pl.reset_camera(bounds=box)
    pl.camera.zoom(1.45)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.screenshot(str(path))
    pl.close()
    try:  # a palette PNG keeps the file small
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
    except ImportError:
        pass
    say(f"picture: {path} ({path.stat().st_size / 1024:.0f} kB)")


CPU_MARKS: list[float] = []


def _instrument() -> None:
    """Record the process CPU time (max over ranks is taken later) right after each level's
    marking, where adapt.csv's wall_time_s is taken: a cost that the machine's load does not
    inflate (serial runs), next to the wall time."""
    import fem_peltier.adaptive as adaptive_mod

    if getattr(adaptive_mod.mark, "_bench", False):
        return
    orig = adaptive_mod.mark

    def mark(*a, **k):
        out = orig(*a, **k)
        CPU_MARKS.append(time.process_time())
        return out

    mark._bench = True
    adaptive_mod.mark = mark


def cpu_max(t: float) -> float:
    return MPI.COMM_WORLD.allreduce(t, op=MPI.MAX)


def run_adaptive(
    case: str, levels: int, size: float, esize: float, picture_path: Path | None, fraction: float | None = None
) -> list[dict]:
    comm = MPI.COMM_WORLD
    adapt: dict = {"levels": levels, "target": 1e-4, "max_cells": 2000000}
    if fraction is not None:
        adapt["fraction"] = fraction
    cfg = fp.load_config(preset=case, overrides=base_overrides(size, esize, adapt))
    _instrument()
    CPU_MARKS.clear()
    comm.barrier()
    t0 = time.perf_counter()
    c0 = time.process_time()
    fm = create_mesh(cfg.resolved(), comm)
    t_mesh = time.perf_counter() - t0
    tmp = comm.bcast(tempfile.mkdtemp(prefix=f"adapt_{case}_") if is_root() else None, root=0)
    res = fp.run(cfg, out=Path(tmp) / "run", film_mesh=fm, pictures=False)
    t_run = time.perf_counter() - t0
    rows_csv = []
    if is_root():
        with (Path(tmp) / "run" / "adapt.csv").open(newline="") as fh:
            rows_csv = list(csv.DictReader(fh))
    rows_csv = comm.bcast(rows_csv, root=0)
    where = smallest_cells_report(res.problem)
    s = res.summary
    say(
        f"{case} adaptive: stop reason: {s['adapt_stop_reason']}; summary error estimates "
        + ", ".join(f"{SHORT[k]} {s[f'{k}_error_estimate_rel']}" for k in GOALS)
        + f"; run wall {t_run:.1f} s (incl. writing)"
    )
    say(f"{case} adaptive final mesh: smallest film cells and front: {where}")
    say(f"{case} adaptive: metal top x-range {s['metal_top_x_range_m']}, depth {s['metal_max_depth_m']}")
    if picture_path is not None:
        picture(res.problem.msh, res.problem.fm.facet_tags, picture_path)
    cpu = [cpu_max(c - c0) for c in CPU_MARKS]
    if fraction is not None:  # recorded with the last level's mesh facts
        where = {"fraction": fraction, **where}
    return adaptive_rows(rows_csv, size, esize, t_mesh, cpu, where)


def adaptive_rows(rows_csv: list[dict], size: float, esize: float, t_mesh: float, cpu: list[float], where: dict):
    """The rows of an adaptive sequence from its adapt.csv rows (cpu: cumulative CPU s per level)."""
    out = []
    for r in rows_csv:
        lv = int(r["level"])
        out.append(
            {
                "sequence": "adaptive",
                "step": lv,
                "size_m": size,
                "electrode_size_m": esize,
                "cells": int(r["cells"]),
                "unknowns": int(r["unknowns"]),
                "voltage_V": float(r["voltage_V"]),
                "T_max_K": float(r["T_max_K"]),
                "metal_fraction": float(r["metal_fraction"]),
                "newton_steps": int(r["newton_steps"]),
                "coarse_newton_steps": "-",
                "converged": r["converged"].strip().lower() == "true",
                "marked_cells": int(r["marked_cells"]),
                "band_cells_marked": int(r["band_cells_marked"]),
                "estimator": float(r["estimator"]),
                "step_s": round(float(r["solve_time_s"]), 2),
                "cumulative_s": round(t_mesh + float(r["wall_time_s"]), 2),
                "cumulative_cpu_s": round(cpu[lv], 2) if lv < len(cpu) else float("nan"),
                "extra": ";".join(f"{k}={v}" for k, v in where.items()) if lv == len(rows_csv) - 1 else "",
            }
        )
    return out


def import_adaptive(case: str, run_dir: Path, out_csv: Path, run_id: str) -> None:
    """Record the adaptive sequence of a written run (its adapt.csv; no CPU times) under run_id,
    for a run whose script process was stopped before it recorded its rows."""
    import tomllib

    with (run_dir / "adapt.csv").open(newline="") as fh:
        rows_csv = list(csv.DictReader(fh))
    cfg = tomllib.loads((run_dir / "config.toml").read_text())
    size, esize = cfg["mesh"]["size"], cfg["mesh"]["electrode_size"]
    rows = adaptive_rows(rows_csv, size, esize, 0.0, [], {"imported_from": str(run_dir)})
    full = [{"run_id": run_id, "ranks": 1, "case": case, **r} for r in rows]
    print(record(full, out_csv))


def run_uniform(case: str, k: int) -> dict:
    comm = MPI.COMM_WORLD
    base = fp.load_config(preset=case).resolved()
    f = math.sqrt(2.0) ** k
    size, esize = base.mesh.size / f, base.mesh.electrode_size / f
    cfg = fp.load_config(preset=case, overrides=base_overrides(size, esize))
    comm.barrier()
    t0 = time.perf_counter()
    c0 = time.process_time()
    fm = create_mesh(cfg.resolved(), comm)
    res = fp.run(cfg, film_mesh=fm, pictures=False)
    t = time.perf_counter() - t0
    cpu = cpu_max(time.process_time() - c0)
    s = res.summary
    return {
        "sequence": "uniform",
        "step": k,
        "size_m": size,
        "electrode_size_m": esize,
        "cells": s["cells"],
        "unknowns": s["dofs"],
        "voltage_V": s["voltage_V"],
        "T_max_K": s["T_max_K"],
        "metal_fraction": s["metal_fraction"],
        "newton_steps": s["iterations"],
        "coarse_newton_steps": "/".join(str(c["newton_steps"]) for c in s["coarse_meshes"]) or "-",
        "converged": bool(s["converged"]),
        "marked_cells": 0,
        "band_cells_marked": 0,
        "estimator": float("nan"),
        "step_s": round(t, 2),
        "cumulative_s": round(t, 2),
        "cumulative_cpu_s": round(cpu, 2),
        "extra": "",
    }


def extrapolate(cells: list[float], vals: list[float]) -> dict | None:
    """q(N) = q_inf + C N^-a through the last three points (N cells), or None when the last two
    changes differ in sign or do not shrink per cell (no asymptotic behaviour to extrapolate)."""
    if len(vals) < 3:
        return None
    (n1, n2, n3), (q1, q2, q3) = cells[-3:], vals[-3:]
    d1, d2 = q2 - q1, q3 - q2
    if d2 == 0.0:
        return {"limit": q3, "a": math.inf, "ratio": 0.0}
    if d1 == 0.0 or d2 / d1 <= 0.0:
        return None
    ratio = d2 / d1

    def g(a):  # (x2 - x3) / (x1 - x2) - ratio, x = N^-a; decreasing in a for n1 < n2 < n3
        x1, x2, x3 = n1**-a, n2**-a, n3**-a
        return (x2 - x3) / (x1 - x2) - ratio

    lo, hi = 1e-4, 6.0
    if g(lo) < 0 or g(hi) > 0:
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    a = 0.5 * (lo + hi)
    x2, x3 = n2**-a, n3**-a
    c = (q3 - q2) / (x3 - x2)
    return {"limit": q3 - c * x3, "a": a, "ratio": ratio}


def first_within(rows: list[dict], key: str, limit: float, tol: float = 0.01) -> tuple[str, str, str]:
    """Cells, wall and CPU seconds of the first row from which every later row is within tol of limit."""
    ok = [abs(r[key] - limit) <= tol * abs(limit) for r in rows]
    for i in range(len(rows)):
        if all(ok[i:]):
            return str(rows[i]["cells"]), f"{rows[i]['cumulative_s']:.1f}", f"{rows[i]['cumulative_cpu_s']:.1f}"
    return "not reached", "-", "-"


def fmt_err(e: float) -> str:
    return f"{100 * e:+.2f}%"


def analyse(case: str, rows: list[dict]) -> None:
    """Print the limits, the side-by-side error tables and the cells/time to 1%."""
    seqs = {s: [r for r in rows if r["sequence"] == s and r["converged"]] for s in ("adaptive", "uniform")}
    for s in seqs:
        seqs[s].sort(key=lambda r: r["cells"])
    say(f"\n### {case}: mesh limits (q = q_inf + C N^-a through the last three points of a sequence)\n")
    lines = [
        "| quantity | adaptive: last | adaptive: limit (a) | uniform: last | uniform: limit (a, p = 3a) | limit used |",
        "|---|---|---|---|---|---|",
    ]
    limits = {}
    no_limit: set[str] = set()
    for key in GOALS:
        ext = {s: extrapolate([r["cells"] for r in seqs[s]], [r[key] for r in seqs[s]]) for s in seqs}
        cells = []
        for s in ("adaptive", "uniform"):
            last = seqs[s][-1][key] if seqs[s] else float("nan")
            e = ext[s]
            if e is None:
                lim = "none (changes grow or change sign)"
            else:
                p = f", p = {3 * e['a']:.2f}" if s == "uniform" else ""
                flag = "" if e["ratio"] < ASYMPTOTIC_RATIO else f"; NOT asymptotic: change ratio {e['ratio']:.2f}"
                lim = f"{e['limit']:.6g} (a = {e['a']:.2f}{p}{flag})"
            cells += [f"{last:.6g}", lim]
        ok = {s: e for s, e in ext.items() if e is not None and e["ratio"] < ASYMPTOTIC_RATIO}
        cands = [(abs(seqs[s][-1][key] - ok[s]["limit"]), s) for s in ok]
        if cands:
            _, best = min(cands)
            limits[key] = ok[best]["limit"]
            others = [ok[s]["limit"] for s in ok if s != best]
            agree = ""
            if others:
                diff = abs(others[0] - limits[key]) / abs(limits[key])
                agree = f"; the two limits differ by {100 * diff:.2f}%"
            used = f"{limits[key]:.6g} ({best}{agree})"
        else:
            # no trustworthy extrapolation: the finest value of all as the reference, said so
            finest = max((r for s in seqs for r in seqs[s]), key=lambda r: r["cells"])
            limits[key] = finest[key]
            no_limit.add(key)
            used = (
                f"NO LIMIT ESTIMATE: differences below are relative to the finest value {limits[key]:.6g} "
                f"({finest['sequence']}, {finest['cells']} cells)"
            )
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {used} |")
    say("\n".join(lines))

    say(f"\n### {case}: error relative to the limit, vs cells and vs cumulative seconds\n")
    hdr = ["cells", "wall s", "CPU s"] + [SHORT[k] for k in GOALS] + ["Newton"]
    lines = [
        "| " + " | ".join([f"adaptive {h}" for h in hdr] + [f"uniform {h}" for h in hdr]) + " |",
        "|" + "---|" * (2 * len(hdr)),
    ]
    n = max(len(seqs["adaptive"]), len(seqs["uniform"]))
    for i in range(n):
        parts = []
        for s in ("adaptive", "uniform"):
            if i < len(seqs[s]):
                r = seqs[s][i]
                newton = str(r["newton_steps"]) + (
                    f" (+{r['coarse_newton_steps']})" if r["coarse_newton_steps"] not in ("-", "") else ""
                )
                parts += (
                    [str(r["cells"]), f"{r['cumulative_s']:.1f}", f"{r['cumulative_cpu_s']:.1f}"]
                    + [fmt_err((r[k] - limits[k]) / limits[k]) for k in GOALS]
                    + [newton]
                )
            else:
                parts += [""] * len(hdr)
        lines.append("| " + " | ".join(parts) + " |")
    say("\n".join(lines))

    say(f"\n### {case}: cells and seconds from which the sequence stays within 1% of the limit\n")
    lines = [
        "| quantity | adaptive cells | adaptive wall s | adaptive CPU s "
        "| uniform cells | uniform wall s | uniform CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in GOALS:
        if key in no_limit:
            lines.append(f"| {key} | no limit estimate | | | no limit estimate | | |")
            continue
        a = first_within(seqs["adaptive"], key, limits[key])
        u = first_within(seqs["uniform"], key, limits[key])
        lines.append(f"| {key} | " + " | ".join(a + u) + " |")
    say("\n".join(lines))
    failed = [r for r in rows if not r["converged"]]
    if failed:
        say(
            "\nnot converged (left out above): "
            + ", ".join(f"{r['sequence']} step {r['step']} ({r['cells']} cells)" for r in failed)
        )


def load_rows(path: Path, run_ids: list[str]) -> dict[str, list[dict]]:
    """The stored rows of the runs `run_ids`, by case; "RUN_ID:uniform" or "RUN_ID:adaptive"
    keeps only that sequence of a run (to pair one run's uniform meshes with another's levels)."""
    wanted: dict[str, str | None] = {}
    for spec in run_ids:
        run_id, _, sequence = spec.partition(":")
        wanted[run_id] = sequence or None
    by_case: dict[str, list[dict]] = {}
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["run_id"] not in wanted or wanted[r["run_id"]] not in (None, r["sequence"]):
                continue
            row = dict(r)
            for k in ("cells", "unknowns", "newton_steps", "step"):
                row[k] = int(r[k])
            for k in ("voltage_V", "T_max_K", "metal_fraction", "cumulative_s", "cumulative_cpu_s", "step_s"):
                row[k] = float(r[k])
            row["converged"] = r["converged"].strip().lower() == "true"
            by_case.setdefault(r["case"], []).append(row)
    return by_case


def where_table(run_dir: Path) -> None:
    """Where the cells of a written run's mesh (run_dir/fields.xdmf) are: per slice in z, y and
    x (10 slices each), the number of film cells and their mean size (volume^(1/3)); with the
    metal depth of summary.json (the front plane of the slab is at z = thickness - depth)."""
    import json

    from dolfinx import io

    comm = MPI.COMM_WORLD
    with io.XDMFFile(comm, str(run_dir / "fields.xdmf"), "r") as f:
        msh = f.read_mesh(name="film")
    tdim = msh.topology.dim
    n = msh.topology.index_map(tdim).size_local
    nodes = msh.geometry.x[msh.geometry.dofmaps[0][:n]]
    centre = nodes.mean(axis=1)
    e = nodes[:, 1:] - nodes[:, :1]
    vol = np.abs(np.einsum("ij,ij->i", e[:, 0], np.cross(e[:, 1], e[:, 2]))) / 6.0
    centre = np.concatenate(comm.allgather(centre))
    size = np.concatenate(comm.allgather(np.cbrt(vol)))
    if not is_root():
        return
    s = json.loads((run_dir / "summary.json").read_text())
    say(
        f"{run_dir}: {len(size)} cells; metal depth {s.get('metal_max_depth_m', 0) * 1e6:.1f} um, "
        f"top x-range {s.get('metal_top_x_range_m')}, metal fraction {s.get('metal_fraction'):.4g}"
    )
    lo, hi = centre.min(axis=0), centre.max(axis=0)
    for axis, name in ((2, "z"), (1, "y"), (0, "x")):
        edges = np.linspace(lo[axis], hi[axis], 11)
        idx = np.clip(np.searchsorted(edges, centre[:, axis], side="right") - 1, 0, 9)
        lines = [f"| {name} slice (um) | cells | mean cell size (um) |", "|---|---|---|"]
        for b in range(10):
            sel = idx == b
            mean = f"{size[sel].mean() * 1e6:.2f}" if sel.any() else "-"
            lines.append(f"| {edges[b] * 1e6:.1f}..{edges[b + 1] * 1e6:.1f} | {int(sel.sum())} | {mean} |")
        say("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="fig2a,fig2d,slab", help="comma-separated presets (fig2a, fig2d, slab)")
    ap.add_argument("--levels", type=int, default=None, help="adaptive levels (default: per case, 3)")
    ap.add_argument("--adapt-mesh", default=None, help="SIZE,ELECTRODE_SIZE (m) of the adaptive initial mesh")
    ap.add_argument("--fraction", type=float, default=None, help="mesh.adapt.fraction (default the package's)")
    ap.add_argument("--uniform-steps", default=None, help="k list: sizes = preset default / sqrt(2)^k")
    ap.add_argument("--skip-uniform", action="store_true")
    ap.add_argument("--skip-adaptive", action="store_true")
    ap.add_argument("--picture", default=None, help="PNG of the final adapted mesh (fig2a only)")
    ap.add_argument("--quick", action="store_true", help="a check: do not append to the CSV")
    ap.add_argument("--out", default=str(RESULTS / "adapt.csv"))
    ap.add_argument(
        "--analyse",
        default=None,
        help="RUN_ID[,RUN_ID...]: re-tabulate the rows of these runs from --out (merged per case); "
        "RUN_ID:uniform or RUN_ID:adaptive keeps only that sequence of a run",
    )
    ap.add_argument("--where", default=None, help="RUN_DIR: cell sizes by slice of a written run's mesh")
    ap.add_argument("--import-run", default=None, help="CASE:RUN_DIR:RUN_ID: record a written adaptive run's levels")
    ap.add_argument("--picture-from", default=None, help="RUN_DIR: draw --picture from a written run's mesh")
    args = ap.parse_args()
    if args.picture_from:
        from dolfinx import io

        with io.XDMFFile(MPI.COMM_WORLD, str(Path(args.picture_from) / "fields.xdmf"), "r") as f:
            msh = f.read_mesh(name="film")
            msh.topology.create_connectivity(msh.topology.dim - 1, msh.topology.dim)
            ft = f.read_meshtags(msh, name="facet_tags")
        picture(msh, ft, Path(args.picture))
        return
    if args.import_run:
        case, run_dir, run_id = args.import_run.split(":")
        import_adaptive(case, Path(run_dir), Path(args.out), run_id)
        return
    if args.where:
        where_table(Path(args.where))
        return
    if args.analyse:
        for case, rows in load_rows(Path(args.out), args.analyse.split(",")).items():
            analyse(case, rows)
        return
    comm = MPI.COMM_WORLD
    if is_root():  # progress: the package's level lines and run ends
        import logging
        import sys

        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(
            lambda rec: "adaptive level" in rec.msg or "after %d Newton" in rec.msg or "mesh: " in rec.msg
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        lg = logging.getLogger("fem_peltier")
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    run_id = comm.bcast(datetime.now(UTC).strftime("%Y%m%dT%H%M%S") if is_root() else None, root=0)
    say(f"run {run_id}: {comm.size} rank(s)")
    for case in args.cases.split(","):
        spec = CASES[case]
        levels = args.levels if args.levels is not None else spec["levels"]
        size, esize = (float(v) for v in args.adapt_mesh.split(",")) if args.adapt_mesh else spec["adapt_mesh"]
        ks = [int(v) for v in args.uniform_steps.split(",")] if args.uniform_steps else spec["uniform"]
        rows: list[dict] = []
        if not args.skip_adaptive:
            pic = Path(args.picture) if args.picture and case == "fig2a" else None
            rows += run_adaptive(case, levels, size, esize, pic, args.fraction)
            for r in rows:
                say(
                    f"{case} adaptive level {r['step']}: {r['cells']} cells, V {r['voltage_V']:.6g}, T_max "
                    f"{r['T_max_K']:.6g}, metal {r['metal_fraction']:.5g}, {r['newton_steps']} Newton, "
                    f"marked {r['marked_cells']} (band {r['band_cells_marked']}), cumulative {r['cumulative_s']} s"
                )
        if not args.skip_uniform:
            for k in ks:
                r = run_uniform(case, k)
                rows.append(r)
                say(
                    f"{case} uniform k={k}: {r['cells']} cells, V {r['voltage_V']:.6g}, T_max {r['T_max_K']:.6g}, "
                    f"metal {r['metal_fraction']:.5g}, {r['newton_steps']} Newton (+{r['coarse_newton_steps']}), "
                    f"{r['cumulative_s']} s, converged {r['converged']}"
                )
        full = [{"run_id": run_id, "ranks": comm.size, "case": case, **r} for r in rows]
        if is_root():
            table = record(full, Path(args.out)) if not args.quick else "(--quick: not recorded)"
            print(f"\n## {case} ({comm.size} rank(s), run {run_id})\n\n{table}", flush=True)
        analyse(case, full)


if __name__ == "__main__":
    main()
