"""The ``fem-peltier`` command line (also ``python -m fem_peltier``).

Commands::

    fem-peltier presets
    fem-peltier config (CONFIG.toml | --preset NAME) [--set section.key=value ...]
    fem-peltier schema
    fem-peltier mesh  (CONFIG.toml | --preset NAME) [--set ...] [--out FILE.msh]
    fem-peltier run   (CONFIG.toml | --preset NAME) [--set ...] --out DIR [--overwrite]
    fem-peltier sweep (CONFIG.toml | --preset NAME) --currents I1,I2,... [--set ...] --out DIR [--resume]

Exit codes (model.md section 6): 0 converged; 3 finished without converging
(outputs written); 2 bad input (one line on stderr naming the key or file,
nothing written); 1 anything else.

The whole configuration is validated (and resolved) before any directory is
created, any mesh is built or any MPI/DOLFINx module is imported. Commands that
do not solve anything (presets, config, schema) never import mpi4py or dolfinx.
Under MPI only rank 0 prints.
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
import typing
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, _to_input_error, load_config, preset_description, preset_names
from .errors import InputError, SolverError
from .files import atomic_write_text
from .log import setup_logging
from .parallel import barrier, is_root, mpi_size_hint
from .signals import Terminated, raise_on_sigterm, restore_sigterm

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
    if args.config is not None and args.preset is not None:
        raise InputError("--preset", f"give either a CONFIG.toml ({args.config}) or --preset, not both")
    if args.config is None and args.preset is None:
        raise InputError("CONFIG", "give a CONFIG.toml file or --preset NAME (see `fem-peltier presets`)")
    cfg = load_config(path=args.config, preset=args.preset, overrides=list(args.set or []))
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
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    import tomli_w

    cfg, name = _load(args)
    g = cfg.groups()
    source = f"preset {args.preset}" if args.preset else f"file {args.config}"
    extra = "".join(f" --set {s}" for s in (args.set or []))
    header = [
        f"# fem-peltier {__version__}: resolved configuration ({source}{extra})",
        "# dimensionless groups: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in g.items() if v is not None),
        "",
    ]
    _say("\n".join(header) + tomli_w.dumps(cfg.to_toml_dict()).rstrip("\n"))
    return EXIT_OK


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " or ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        text = " or ".join(parts)
        return text + (" or none" if type(None) in typing.get_args(annotation) else "")
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: Any) -> str:
    out = []
    for meta in field.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            val = getattr(meta, attr, None)
            if val is not None:
                out.append(f"{sym} {val:g}" if isinstance(val, (int, float)) else f"{sym} {val}")
    return ", ".join(out)


def schema_markdown() -> str:
    """The configuration reference (docs/configuration.md) as Markdown."""
    default = Config()
    resolved = default.resolved()
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `fem-peltier schema` (`make docs`) from the pydantic models in",
        "     fem_peltier/config.py. Do not edit by hand. -->",
        "",
        "A run is configured by a TOML file with the sections below, or by a preset",
        "(`fem-peltier presets`), plus `--set section.key=value` overrides on the command line.",
        "All quantities are in SI units (m, K, A, V, Ohm m, V/K, W/(m K)).",
        "",
        "* Every key is optional; a missing key takes the default shown.",
        "* A default of *derived* means the value is computed from other keys when the",
        "  configuration is resolved (the rule is in the description). `fem-peltier config`",
        "  prints the resolved values, and every run stores them with its results.",
        "* `--set section.key=value` reads the value as a TOML value (`1e-4`, `true`,",
        '  `"ends"`), falling back to a plain string; `none` (or `null`) clears a key, e.g.',
        "  `--set drive.current=none --set drive.voltage=2.0` switches a preset to voltage control.",
        "* Unknown sections or keys, values of the wrong type or out of range, and",
        "  inconsistent combinations (both current and voltage, electrodes wider than the film",
        "  or overlapping, `t_mit <= t0`, ...) are rejected before anything is computed",
        "  (exit code 2, one line naming the key).",
        "",
    ]
    for sec_name, sec_field in Config.model_fields.items():
        cls = sec_field.annotation
        assert isinstance(cls, type)  # every section is a pydantic model class
        doc = " ".join((cls.__doc__ or "").split())
        lines += [
            f"## [{sec_name}]",
            "",
            doc,
            "",
            "| key | type | default | allowed | description |",
            "|---|---|---|---|---|",
        ]
        for key, field in cls.model_fields.items():
            dval = getattr(getattr(default, sec_name), key)
            rval = getattr(getattr(resolved, sec_name), key)
            if dval is None and rval is not None:
                dtxt = "*derived*"
            elif dval is None:
                dtxt = "none"
            elif isinstance(dval, bool):
                dtxt = f"`{str(dval).lower()}`"
            elif isinstance(dval, str):
                dtxt = f"`{json.dumps(dval)}`"
            else:
                dtxt = f"`{dval:g}`" if isinstance(dval, float) else f"`{dval}`"
            cells = [f"`{key}`", _type_name(field.annotation), dtxt, _constraints(field), field.description or ""]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


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


# ---------------------------------------------------------------------------------------
# Parser and entry point


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors printed on MPI rank 0 only (exit code 2)."""

    def error(self, message: str) -> typing.NoReturn:
        if is_root():
            self.print_usage(sys.stderr)
            sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    verbosity = _Parser(add_help=False)
    verbosity.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output (debug with -v)"
    )
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings and errors"
    )

    source = _Parser(add_help=False)
    source.add_argument("config", nargs="?", metavar="CONFIG.toml", help="a TOML configuration file")
    source.add_argument("--preset", metavar="NAME", help="a built-in case instead of a file (see `presets`)")
    source.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        default=[],
        help="override a config key (repeatable), e.g. --set mesh.size=1e-4; 'none' clears a key",
    )

    parser = _Parser(
        prog=PROG,
        description="Finite-element simulation of current-driven insulator-metal transitions in a thin film "
        "with Joule and interface Peltier heating (FEniCSx/DOLFINx).",
        epilog="Exit codes: 0 converged, 3 finished without converging (outputs written), "
        "2 bad input (nothing written), 1 other failure.",
        parents=[verbosity],
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("presets", parents=[verbosity], help="list the built-in cases and their dimensionless groups")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("config", parents=[verbosity, source], help="print the resolved configuration as TOML")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("schema", parents=[verbosity], help="print the configuration reference (Markdown)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("mesh", parents=[verbosity, source], help="generate the mesh and save it as .msh")
    p.add_argument("--out", metavar="FILE.msh", help="output file (default meshes/<preset or config name>.msh)")
    p.set_defaults(func=cmd_mesh)

    p = sub.add_parser("run", parents=[verbosity, source], help="one steady-state simulation")
    p.add_argument("--out", metavar="DIR", required=True, help="output directory (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="reuse an existing output directory")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "sweep",
        parents=[verbosity, source],
        help="a series of runs over the drive current or voltage (ramps, hysteresis, resume)",
    )
    values = p.add_mutually_exclusive_group(required=True)
    values.add_argument(
        "--currents",
        metavar="LIST",
        help="currents in A, in order: a list I1,I2,... and/or ranges start:stop:n, e.g. "
        "0:0.02:5,0.02:0:5 for up then down (write --currents=-0.01,... when it starts with '-')",
    )
    values.add_argument(
        "--voltages",
        metavar="LIST",
        help="voltages in V, same syntax (voltage control; with drive.load_resistance > 0 "
        "the source voltage in series with the load)",
    )
    p.add_argument("--out", metavar="DIR", required=True, help="sweep directory (one run directory per point)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in DIR after its last row")
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="solve every point independently instead of starting from the previous converged point",
    )
    p.add_argument(
        "--no-pictures",
        action="store_true",
        help="skip the PNG pictures of each point's run directory (they take a few seconds per point)",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "validate",
        parents=[verbosity],
        help="run the validation suite and write DIR/validation.md (+ pictures, CSV/JSON)",
    )
    p.add_argument("--out", metavar="DIR", default="docs", help="report directory (default docs)")
    p.add_argument("--quick", action="store_true", help="coarse meshes and short sweeps (about 3 minutes)")
    p.add_argument(
        "--only",
        metavar="PARTS",
        help="comma-separated subset of: eq8_eq9, eq11_vi, peltier, eq14, mesh, figures, regime",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild DIR/validation.md from DIR/validation/validation.json without solving",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "figure", parents=[verbosity], help="draw a paper figure (fig1b, fig2a, fig2c, fig2d, fig2e or all) into DIR"
    )
    p.add_argument("name", metavar="NAME", help="fig1b | fig2a | fig2c | fig2d | fig2e | all")
    p.add_argument("--out", metavar="DIR", required=True, help="output directory for the PNG and JSON files")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        default=[],
        help="override a config key in every run of the figure, e.g. --set mesh.size=1e-4",
    )
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("regime", parents=[verbosity], help="classify the metal pattern over a (J, P) grid")
    p.add_argument("--out", metavar="DIR", required=True, help="output directory (regime_map.png, regime.json)")
    p.add_argument("--J", metavar="LIST", help="Joule numbers, e.g. 0.02,0.05,0.2 (default: a 6-point grid)")
    p.add_argument("--P", metavar="LIST", help="Peltier numbers, e.g. 0.02,0.2 (default: a 5-point grid)")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        default=[],
        help="override a config key (after the map's coarse mesh), e.g. --set mesh.size=7e-5",
    )
    p.set_defaults(func=cmd_regime)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        _say(f"{PROG} {__version__}")
        return EXIT_OK
    if getattr(args, "func", None) is None:
        if is_root():
            parser.print_help(sys.stderr)
        return EXIT_INPUT
    quiet = bool(getattr(args, "quiet", False))
    args.quiet = quiet
    setup_logging(-1 if quiet else int(getattr(args, "verbose", 0) or 0))
    previous_sigterm = raise_on_sigterm()
    try:
        return int(args.func(args))
    except InputError as exc:
        _error(str(exc))
        return EXIT_INPUT
    except _FatalError as exc:
        _error(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        _error("terminated (SIGTERM)" if terminated else "interrupted")
        return 143 if terminated else 130
    except Exception:
        # Anything unexpected: keep the traceback (exit 1). Under MPI, stop the other ranks
        # too instead of leaving them waiting in a collective call.
        mpi = sys.modules.get("mpi4py.MPI")
        if mpi is not None and mpi_size_hint() > 1:
            import traceback

            # one write: mpiexec forwards it whole or not at all when Abort kills this rank
            # (print_exc writes line by line, and a forwarded half was seen in CI)
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
            mpi.COMM_WORLD.Abort(EXIT_FAILURE)
            os._exit(EXIT_FAILURE)  # Abort may return before the kill: never print the traceback twice
        raise
    finally:
        restore_sigterm(previous_sigterm)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
