"""The subcommands of ``fem-peltier`` (cli.py builds the parser and calls them).

Each `cmd_*` takes the parsed arguments and returns the exit code (README: Exit codes).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

from . import __version__
from .config import (
    Config,
    is_device,
    _to_input_error,
    load_config,
    material_data,
    material_description,
    material_names,
    material_suggested_t0,
    preset_description,
    preset_names,
)
from .config_reference import schema_markdown
from .errors import InputError, SolverError
from .files import atomic_write_text
from .parallel import barrier, is_root, mpi_size_hint
from .signals import raise_on_sigterm

PROG = "fem-peltier"
log = logging.getLogger("fem_peltier.cli")

EXIT_OK, EXIT_FAILURE, EXIT_INPUT, EXIT_NOT_CONVERGED = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------
# Small helpers


def _say(text: str = "", *, err: bool = False) -> None:
    """Print on MPI rank 0 only."""
    if is_root():
        stream = sys.stderr if err else sys.stdout
        stream.write(text + "\n")
        stream.flush()


def _error(message: str) -> None:
    """The one-line error message of the CLI."""
    one_line = " ".join(str(message).split())
    _say(f"{PROG}: error: {one_line}", err=True)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _load(args: argparse.Namespace) -> tuple[Config, str]:
    """Load, validate and resolve the configuration; return it and a short name for it."""
    for text in args.set or []:
        if "=" not in text:  # `--set mesh.size 1e-4` leaves 1e-4 as the positional CONFIG.toml
            stray = args.config
            if stray is not None and not stray.endswith(".toml") and not Path(stray).exists():
                raise InputError(
                    "--set",
                    f"'--set {text} {stray}': a --set takes section.key=value as one argument; "
                    f"write --set {text}={stray}",
                )
            raise InputError("--set", f"expected section.key=value (one argument, no spaces), got '{text}'")
    if args.config is not None and args.preset is not None:
        raise InputError("--preset", f"give either a CONFIG.toml ({args.config}) or --preset, not both")
    if args.config is None and args.preset is None:
        raise InputError("CONFIG", "give a CONFIG.toml file or --preset NAME (see `fem-peltier presets`)")
    material = getattr(args, "material", None)
    cfg = load_config(path=args.config, preset=args.preset, overrides=list(args.set or []), material=material)
    try:
        cfg = cfg.resolved()
    except Exception as exc:  # the cross-checks may fail only once derived defaults are filled in
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise _to_input_error(exc) from None
        raise
    name = args.preset if args.preset is not None else Path(args.config).stem
    return cfg, name


def _check_new_dir(out: Path, *, allow_existing: bool, hint: str) -> None:
    """An output directory must not exist yet unless the user allowed reuse."""
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(str(out), "exists and is not a directory")
        if not allow_existing:
            raise InputError(str(out), f"output directory already exists; {hint}")
    # refuse an unwritable place now, not after the solve
    target = out.absolute()
    while not target.exists() and target != target.parent:
        target = target.parent
    if not target.is_dir():
        raise InputError(str(out), f"cannot create the output directory: {target} is not a directory")
    if not os.access(target, os.W_OK | os.X_OK):
        raise InputError(str(out), f"cannot create the output directory: {target} is not writable")


def _import_solver_module(name: str) -> types.ModuleType:
    """Import fem_peltier.<name>; a missing DOLFINx/gmsh becomes a clear one-line error (exit 1)."""
    import importlib

    try:
        module = importlib.import_module(f"fem_peltier.{name}")
        raise_on_sigterm()  # importing PETSc replaced our SIGTERM handler with its abort
        return module
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        if missing and missing.split(".")[0] in (
            "dolfinx",
            "dolfinx_solver",
            "mpi4py",
            "petsc4py",
            "gmsh",
            "basix",
            "ufl",
        ):
            raise _FatalError(
                f"{missing} is not importable ({exc}); install DOLFINx with `make install` "
                "(pip wheel) or from conda-forge (environment.yml)"
            ) from None
        raise


class _FatalError(Exception):
    """A failure reported as one line with exit code 1."""


# ---------------------------------------------------------------------------------------
# presets / config / schema


def cmd_presets(args: argparse.Namespace) -> int:
    names = preset_names()
    width = max(len(n) for n in names)
    for name in names:
        cfg = load_config(preset=name)
        g = cfg.groups()
        labels = [
            ("h/L", "h_over_L"),
            ("W/L", "W_over_L"),
            ("r", "r"),
            ("theta", "theta"),
            ("J", "J"),
            ("P", "P"),
            ("Z T0", "ZT0"),
        ]
        groups = "  ".join(f"{lab}={_fmt(g[k]) if g[k] is not None else '-'}" for lab, k in labels)
        drive = cfg.drive
        drive_txt = f"I = {drive.current:g} A" if drive.current is not None else f"V = {drive.voltage:g} V"
        _say(f"{name:<{width}}  {preset_description(name)}")
        _say(f"{'':<{width}}  {groups}  ({drive_txt}, electrodes = {cfg.geometry.electrodes})")
    _say("")
    _say("Material presets (--material NAME, combined with a preset or CONFIG.toml; docs/materials.md):")
    names = material_names()
    width = max(len(n) for n in names)
    for name in names:
        _say(f"{name:<{width}}  {material_description(name)}")
        _say(f"{'':<{width}}  {_material_summary(name)}")
    return EXIT_OK


def _material_summary(name: str) -> str:
    """T_MIT, rho_I at the suggested sink temperature and at T_MIT, rho_M, Delta S (one line)."""
    from .config import Material

    m = Material.model_validate(material_data(name))
    t0 = material_suggested_t0(name) or 300.0
    rho_t0, rho_mit = m.at("rho_insulator", t0), m.at("rho_insulator", m.t_mit)
    ds = m.at("seebeck_insulator", m.t_mit) - m.at("seebeck_metal", m.t_mit)
    return (
        f"T_MIT={m.t_mit:g} K  hysteresis={m.hysteresis:g} K  rho_I(T0={t0:g} K)={rho_t0:.3g} Ohm m  "
        f"rho_I(T_MIT)={rho_mit:.3g} Ohm m  rho_M={m.at('rho_metal', m.t_mit):.3g} Ohm m  "
        f"Delta S={ds * 1e6:.4g} uV/K  kappa={m.at('kappa', t0):.3g}/{m.at('kappa_metal', m.t_mit):.3g} W/(m K)"
    )


def cmd_config(args: argparse.Namespace) -> int:
    import tomli_w

    cfg, name = _load(args)
    g = cfg.groups()
    source = f"preset {args.preset}" if args.preset else f"file {args.config}"
    material = getattr(args, "material", None)
    extra = (f" --material {material}" if material else "") + "".join(f" --set {s}" for s in (args.set or []))
    header = [
        f"# fem-peltier {__version__}: resolved configuration ({source}{extra})",
        "# dimensionless groups: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in g.items() if v is not None),
        "",
    ]
    _say("\n".join(header) + tomli_w.dumps(cfg.to_toml_dict()).rstrip("\n"))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    _say(schema_markdown().rstrip("\n"))
    return EXIT_OK


# ---------------------------------------------------------------------------------------
# mesh / run


def cmd_mesh(args: argparse.Namespace) -> int:
    cfg, name = _load(args)
    path = Path(args.out) if args.out else Path("meshes") / f"{name}.msh"
    if path.is_dir():
        raise InputError(str(path), "is a directory; expected a .msh file name")
    barrier()  # every rank has validated before anyone writes
    mesh_mod = _import_solver_module("mesh")
    if is_root():
        path.parent.mkdir(parents=True, exist_ok=True)
    barrier()
    log.info("meshing %s -> %s", name, path)
    if is_device(cfg):  # a user's gmsh script: its mesh, checked, as mesh.file can use it
        from .device_mesh import write_device_msh

        write_device_msh(cfg.resolved(), path)
    else:
        mesh_mod.write_msh(cfg, path)
    _say(f"wrote {path}")
    return EXIT_OK


def _store_config(cfg: Config, out: Path) -> None:
    """Keep the resolved configuration with the results (DIR/config.toml), unless already there."""
    import tomli_w

    path = out / "config.toml"
    if is_root() and out.is_dir() and not path.exists():
        atomic_write_text(
            path,
            f"# fem-peltier {__version__}: resolved configuration of this run\n" + tomli_w.dumps(cfg.to_toml_dict()),
        )


def _summary_line(summary: dict[str, Any]) -> str:
    keys = [
        ("T_max_K", "T_max", "K"),
        ("T_mean_K", "T_mean", "K"),
        ("voltage_V", "V", "V"),
        ("current_A", "I", "A"),
        ("metal_fraction", "metal fraction", ""),
        ("wall_time_s", "wall", "s"),
    ]
    parts = [
        f"{lab} = {_fmt(summary[k])}{(' ' + unit) if unit else ''}"
        for k, lab, unit in keys
        if summary.get(k) is not None
    ]
    return ", ".join(parts)


def cmd_run(args: argparse.Namespace) -> int:
    cfg, name = _load(args)
    out = Path(args.out)
    _check_new_dir(out, allow_existing=args.overwrite, hint="pass --overwrite to replace its results")
    barrier()
    sim = _import_solver_module("simulation")
    if cfg.mesh.file is None:  # the cell budget, before any log line or meshing
        _import_solver_module("mesh").check_budget(cfg)
    log.info("running %s -> %s", name, out)
    started = time.time()
    try:
        result = sim.run(cfg, out=out, overwrite=bool(args.overwrite))
    except SolverError as exc:
        summary_file = out / "summary.json"
        written = summary_file.is_file() and summary_file.stat().st_mtime >= started - 1
        _error(f"solver failed: {exc}" + (f" (partial results in {out})" if written else ""))
        return EXIT_NOT_CONVERGED if written else EXIT_FAILURE
    except OSError as exc:  # e.g. a full disk while writing: the staged directory is gone
        where = f" ({exc.filename})" if exc.filename else ""
        msg = f"{out}: cannot write the results: {exc.strerror or exc}{where}; nothing written"
        if mpi_size_hint() > 1:  # raised on the writing rank only: end the other ranks too
            _error(msg)
            sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(EXIT_FAILURE)
        raise _FatalError(msg) from None
    _store_config(cfg, out)
    summary = dict(result.summary or {})
    status = "converged" if result.converged else "NOT converged"
    reason = summary.get("reason")
    detail = f" ({reason})" if reason and str(reason).lower() not in status.lower() else ""
    _say(f"{name}: {status}{detail}; results in {out}")
    line = _summary_line(summary)
    if line and not args.quiet:
        _say("  " + line)
    return EXIT_OK if result.converged else EXIT_NOT_CONVERGED


def cmd_transient(args: argparse.Namespace) -> int:
    cfg, name = _load(args)
    out = Path(args.out)
    if args.resume and args.overwrite:
        raise InputError(
            "--overwrite", "give either --resume (continue the transient in --out) or --overwrite, not both"
        )
    if not args.resume:
        _check_new_dir(
            out,
            allow_existing=args.overwrite,
            hint="pass --resume to continue the transient in it or --overwrite to replace it",
        )
    barrier()
    tr = _import_solver_module("transient_run")
    if cfg.mesh.file is None:
        _import_solver_module("mesh").check_budget(cfg)
    log.info("transient %s -> %s", name, out)
    try:
        result = tr.run_transient(
            cfg, out=out, overwrite=bool(args.overwrite), resume=bool(args.resume), progress=not args.quiet
        )
    except SolverError as exc:
        _error(f"solver failed: {exc}")
        return EXIT_NOT_CONVERGED
    s = result.summary
    status = "completed" if result.converged else "NOT completed"
    _say(f"{name}: transient {status} ({s['reason']}); results in {out}")
    if not args.quiet:
        extra = f", period = {_fmt(s['period_s'])} s" if s.get("period_s") else ""
        switch = s.get("switching_time_s")
        _say(
            f"  final state: {s['final_state']}{extra}; {s['time_steps']} steps ({s['rejected_steps']} rejected); "
            f"metal first at t = {_fmt(switch) + ' s' if switch is not None else 'never'}"
        )
        _say("  " + _summary_line(s))
    return EXIT_OK if result.converged else EXIT_NOT_CONVERGED


# ---------------------------------------------------------------------------------------
# sweep (the logic lives in fem_peltier/sweep.py)


def cmd_sweep(args: argparse.Namespace) -> int:
    from . import sweep

    cfg, name = _load(args)
    param = sweep.VOLTAGE if args.voltages is not None else sweep.CURRENT
    text = args.voltages if args.voltages is not None else args.currents
    plan = sweep.plan_sweep(
        cfg,
        name,
        param,
        text,
        args.out,
        resume=bool(args.resume),
        from_scratch=bool(args.from_scratch),
        pictures=not args.no_pictures,
        overwrite=bool(args.overwrite),
    )
    barrier()
    _import_solver_module("simulation")
    return sweep.execute(plan, quiet=bool(args.quiet), say=_say)


# ---------------------------------------------------------------------------------------
# validate / figure / regime (the logic lives in validation.py, figures.py, regime.py)


def _overrides_only(args: argparse.Namespace) -> list[str]:
    """--set values, validated against a preset so that a bad key fails before any solve."""
    load_config(preset="fig2a", overrides=list(args.set or []))
    return list(args.set or [])


def cmd_validate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    parts = tuple(s.strip() for s in args.only.split(",")) if args.only else None
    barrier()
    validation = _import_solver_module("validation")
    parts = parts or validation.SUITE
    bad = [p for p in parts if p not in validation.SUITE]
    if bad:
        raise InputError("--only", f"unknown part(s) {', '.join(bad)}; expected some of {', '.join(validation.SUITE)}")
    level = "quick" if args.quick else "full"
    if args.report_only:  # re-render the report from the raw numbers of a previous run
        result = validation.load_result(out)
    else:
        result = validation.run_suite(level, out, parts)
        previous = out / "validation" / "validation.json"
        if set(parts) != set(validation.SUITE) and previous.exists():
            # a partial run adds its parts to the existing report instead of dropping the others
            result = validation.merge_results(validation.load_result(out), result, parts)
    cmd = (
        f"fem-peltier validate --out {args.out}"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else "")
    )
    path = validation.write_report(result, out, cmd)
    failed = [f"{ch.name}: {r.quantity}" for ch in result["checks"] for r in ch.rows if r.passed is False]
    _say(f"wrote {path} ({len(failed)} failed row(s))")
    for f in failed:
        _say(f"  FAIL {f}")
    return EXIT_OK if not failed else EXIT_NOT_CONVERGED


def cmd_figure(args: argparse.Namespace) -> int:
    overrides = _overrides_only(args)
    out = Path(args.out)
    barrier()
    figures = _import_solver_module("figures")
    names = figures.FIGURES if args.name == "all" else (args.name,)
    for name in names:
        if name not in figures.FIGURES:
            raise InputError("NAME", f"unknown figure {name!r}; expected one of {', '.join(figures.FIGURES)} or all")
    for name in names:
        r = figures.make_figure(name, out, overrides)
        _say(f"{name}: " + ", ".join(str(out / f) for f in r["files"]))
    return EXIT_OK


def _floats(text: str, key: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise InputError(key, f"expected comma-separated positive numbers, got {text!r}") from None
    if not vals or any(not (v > 0 and math.isfinite(v)) for v in vals):
        raise InputError(key, f"expected comma-separated positive numbers, got {text!r}")
    return vals


def cmd_regime(args: argparse.Namespace) -> int:
    overrides = _overrides_only(args)
    out = Path(args.out)
    barrier()
    regime = _import_solver_module("regime")
    Js = _floats(args.J, "--J") if args.J else regime.J_FULL
    Ps = _floats(args.P, "--P") if args.P else regime.P_FULL
    pts = regime.regime_map(Js, Ps, [*regime.COARSE_MESH, *overrides])
    if is_root():
        out.mkdir(parents=True, exist_ok=True)
        (out / "regime.json").write_text(json.dumps(pts, indent=1, default=str) + "\n")
        regime.plot_regime(pts, out / "regime_map.png")
        (out / "regime.md").write_text("\n".join(regime.regime_table(pts)) + "\n")
    _say(f"wrote {out / 'regime_map.png'}, regime.json, regime.md")
    for line in regime.regime_table(pts):
        _say("  " + line)
    return EXIT_OK if all(p["converged"] for p in pts) else EXIT_NOT_CONVERGED
