"""The ``fem-peltier`` command line (also ``python -m fem_peltier``).

Commands::

    fem-peltier presets
    fem-peltier config (CONFIG.toml | --preset NAME) [--material NAME] [--set section.key=value ...]
    fem-peltier schema
    fem-peltier mesh  (CONFIG.toml | --preset NAME) [--material NAME] [--set ...] [--out FILE.msh]
    fem-peltier run   (CONFIG.toml | --preset NAME) [--material NAME] [--set ...] --out DIR [--overwrite]
    fem-peltier transient (CONFIG.toml | --preset NAME) [--material NAME] [--set ...] --out DIR
                      [--resume | --overwrite]
    fem-peltier sweep (CONFIG.toml | --preset NAME) [--material NAME] --currents I1,I2,... [--set ...] --out DIR
                      [--resume | --overwrite]
    fem-peltier validate [--out DIR] [--quick] [--only PARTS] [--report-only]
    fem-peltier figure NAME --out DIR [--set ...]
    fem-peltier regime --out DIR [--J LIST] [--P LIST] [--set ...]

A configuration is built from the defaults, then the preset or CONFIG.toml, then
the material preset of --material (its film properties replace the configuration's),
then the --set overrides in order.

Exit codes (README: Exit codes): 0 converged; 3 finished without converging
(outputs written); 2 bad input (one line on stderr naming the key or file,
nothing written); 1 anything else.

The whole configuration is validated (and resolved) before any directory is
created, any mesh is built or any MPI/DOLFINx module is imported. Commands that
do not solve anything (presets, config, schema) never import mpi4py or dolfinx.
Under MPI only rank 0 prints.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import typing

from . import __version__
from .commands import (
    EXIT_FAILURE,
    EXIT_INPUT,
    EXIT_OK,
    PROG,
    _error,
    _FatalError,
    _say,
    cmd_config,
    cmd_figure,
    cmd_mesh,
    cmd_presets,
    cmd_regime,
    cmd_run,
    cmd_schema,
    cmd_sweep,
    cmd_transient,
    cmd_validate,
)
from .config_reference import schema_markdown
from .errors import InputError
from .log import setup_logging
from .parallel import is_root, mpi_size_hint
from .signals import Terminated, raise_on_sigterm, restore_sigterm, sigterm_on_watcher

__all__ = ["build_parser", "main", "schema_markdown"]


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
        "--material",
        metavar="NAME",
        help="a material preset (ca2ruo4, vo2, nbo2, v2o3; see `presets` and docs/materials.md) replacing the "
        "film properties of the preset or file; applied before the --set overrides",
    )
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

    p = sub.add_parser(
        "presets",
        parents=[verbosity],
        help="list the built-in cases (with their dimensionless groups) and material presets",
    )
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
        "transient",
        parents=[verbosity, source],
        help="integrate in time ([time] section, drive waveforms, a capacitor): switching, pulses, oscillators",
    )
    p.add_argument(
        "--out", metavar="DIR", required=True, help="output directory (timeseries.csv, fields_time.pvd, ...)"
    )
    p.add_argument("--resume", action="store_true", help="continue a killed transient in DIR from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing transient in DIR")
    p.set_defaults(func=cmd_transient)

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
        "0:0.02:5,0.02:0:5 for up then down; negative values as they are (--currents -0.01,-0.02)",
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
        "--overwrite",
        action="store_true",
        help="replace an existing sweep in DIR (removed before the first point; only a sweep directory is replaced)",
    )
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
    p.add_argument(
        "--out",
        metavar="DIR",
        default="validation-output",
        help="report directory (default validation-output; benchmarks/validation_full.sh regenerates the "
        "shipped report with --out docs)",
    )
    p.add_argument("--quick", action="store_true", help="coarse meshes and short sweeps (about 3 minutes)")
    p.add_argument(
        "--only",
        metavar="PARTS",
        help="comma-separated subset of: eq8_eq9, eq11_vi, peltier, eq14, mesh, figures, regime, contacts, "
        "two_temperature (added to DIR's existing report: the other parts keep their numbers)",
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


# options whose value may start with '-' (a negative number or range): argparse would take
# `--currents -0.01,-0.02` for an option without its value
_NUMERIC_LIST_OPTIONS = ("--currents", "--voltages", "--J", "--P")
_NEGATIVE_VALUE = re.compile(r"-(\d|\.\d)")


def join_negative_values(argv: list[str]) -> list[str]:
    """`--currents -0.01,...` as `--currents=-0.01,...` (the same for the other list options)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":  # everything after it is positional
            out.extend(argv[i:])
            break
        if arg in _NUMERIC_LIST_OPTIONS and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = join_negative_values(sys.argv[1:] if argv is None else list(argv))
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
        with sigterm_on_watcher():  # SIGTERM taken by a watcher thread, never by a native library's handler
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
        notes = getattr(exc, "__notes__", None)
        if args.command == "transient" and "--resume" not in argv:
            again = [a for a in argv if a != "--overwrite"] + ["--resume"]
            _say(f"{PROG}: continue with: {PROG} {shlex.join(again)}", err=True)
        if notes and args.command == "sweep":  # how many points were kept, and how to go on
            again = [a for a in argv if a != "--overwrite"] + ([] if "--resume" in argv else ["--resume"])
            _say(f"{PROG}: {notes[0]}; continue with: {PROG} {shlex.join(again)}", err=True)
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
