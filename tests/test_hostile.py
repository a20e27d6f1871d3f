"""Hostile configuration input (issue 8, part 1): property-based fuzzing of the config layer.

Generated configurations (dicts, TOML text with corruption, ``--set`` overrides) are
checked against an independent oracle written here from docs/configuration.md and
model.md section 6: the types and ranges of every key, the plausibility limits
(docs/errors.md), and the cross-key rules (one drive, t_mit > t0, electrodes inside
the film and not overlapping, mesh sizes below the film size, ...). The property:

* the oracle finds no problem  ->  the config is accepted and resolves (valid input is
  never rejected), with finite dimensionless groups;
* the oracle finds problems    ->  an InputError whose key is one of the offending keys,
  with a one-line message (never another exception).

A few generated bad configs also go through the real CLI (exit 2, exactly one stderr
line naming the key, no traceback, no output directory). The generation is
derandomized with bounded example counts, so the run is reproducible in CI.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import typing
from pathlib import Path

import pytest
import tomli_w

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fem_peltier.config import Config, from_dict, load_config, preset_data  # noqa: E402
from fem_peltier.errors import InputError  # noqa: E402

N_DICT, N_TOML, N_SET, N_CLI, N_BUDGET = 300, 200, 100, 6, 20
FUZZ = dict(derandomize=True, database=None, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ---------------------------------------------------------------------------------------
# The oracle: every key's type and range (docs/configuration.md), written out by hand

POS, NONNEG, ANY, OPEN01, UPTO4 = "pos", "nonneg", "any", "open01", "upto4"
# key -> (kind, optional, range rule); kinds: float, int, bool, str, choice
RULES: dict[str, tuple[str, bool, str]] = {
    "geometry.length": ("float", False, POS), "geometry.width": ("float", False, POS),
    "geometry.thickness": ("float", False, POS), "geometry.substrate_thickness": ("float", False, NONNEG),
    "geometry.electrodes": ("choice", False, ANY),
    "geometry.electrode_length": ("float", True, POS), "geometry.electrode_width": ("float", True, POS),
    "material.rho_insulator": ("float", False, POS), "material.rho_metal": ("float", False, POS),
    "material.seebeck_insulator": ("float", False, ANY), "material.seebeck_metal": ("float", False, ANY),
    "material.kappa": ("float", False, POS), "material.kappa_substrate": ("float", True, POS),
    "material.kappa_metal": ("float", True, POS),
    "material.t_mit": ("float", False, POS), "material.hysteresis": ("float", False, NONNEG),
    "drive.current": ("float", True, ANY), "drive.voltage": ("float", True, ANY),
    "drive.load_resistance": ("float", False, NONNEG), "drive.allow_implausible": ("bool", False, ANY),
    "thermal.t0": ("float", False, POS), "thermal.joule_heating": ("bool", False, ANY),
    "thermal.peltier_heating": ("bool", False, ANY),
    "mesh.size": ("float", True, POS), "mesh.electrode_size": ("float", True, POS),
    "mesh.file": ("str", True, ANY), "mesh.max_cells": ("int", False, POS),
    "solver.max_iterations": ("int", False, POS), "solver.transition_width": ("float", True, POS),
    "solver.initial_width": ("float", True, POS), "solver.width_factor": ("float", False, OPEN01),
    "solver.newton_max_iterations": ("int", False, POS), "solver.newton_rtol": ("float", False, OPEN01),
    "solver.level_rtol": ("float", False, OPEN01), "solver.phase_tol": ("float", False, POS),
    "solver.temperature_rtol": ("float", False, POS), "solver.max_phase_updates": ("int", False, POS),
    "solver.t_ceiling": ("float", True, POS), "solver.linear_solver": ("choice", False, ANY),
    "solver.coarse_meshes": ("int", True, UPTO4), "solver.sequencing_width": ("float", True, POS),
}
# plausibility limits (docs/errors.md): |value| in [lo, hi]; 0 allowed where the range rule allows it
LIMITS = {
    "geometry.length": (1e-9, 10), "geometry.width": (1e-9, 10), "geometry.thickness": (1e-9, 10),
    "geometry.substrate_thickness": (1e-9, 10), "geometry.electrode_length": (1e-9, 10),
    "geometry.electrode_width": (1e-9, 10), "material.rho_insulator": (1e-12, 1e12),
    "material.rho_metal": (1e-12, 1e12), "material.seebeck_insulator": (0, 1), "material.seebeck_metal": (0, 1),
    "material.kappa": (1e-6, 1e6), "material.kappa_substrate": (1e-6, 1e6), "material.t_mit": (1e-3, 1e5),
    "material.kappa_metal": (1e-6, 1e6),
    "material.hysteresis": (0, 1e5), "thermal.t0": (1e-3, 1e5), "drive.current": (0, 1e6),
    "drive.voltage": (0, 1e9), "drive.load_resistance": (0, 1e15), "mesh.size": (1e-9, 10),
    "mesh.electrode_size": (1e-9, 10), "solver.transition_width": (1e-9, 1e5),
    "solver.initial_width": (1e-9, 1e5), "solver.t_ceiling": (1e-3, 1e7), "solver.sequencing_width": (1e-9, 1e5),
}
NO_FILE = "no-such-dir/none.msh"


def _choices(key: str) -> tuple[str, ...]:
    sec, name = key.split(".")
    return typing.get_args(Config.model_fields[sec].annotation.model_fields[name].annotation)


def _field_ok(key: str, v) -> bool:
    kind, optional, rule = RULES[key]
    if v is None:
        return optional
    if kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
    elif kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            return False
    elif kind == "bool":
        return isinstance(v, bool)
    elif kind == "str":
        return isinstance(v, str)
    elif kind == "choice":
        return isinstance(v, str) and v in _choices(key)
    return {POS: v > 0, NONNEG: v >= 0, ANY: True, OPEN01: 0 < v < 1, UPTO4: 0 <= v <= 4}[rule]


def expected_problems(data) -> tuple[set[str], set[str]]:
    """(field-level offending keys, cross-level offending keys) of a raw config dict."""
    if not isinstance(data, dict):
        return {"config"}, set()
    field_bad: set[str] = set()
    for sec, vals in data.items():
        if sec not in Config.model_fields:
            field_bad.add(sec)
            continue
        if not isinstance(vals, dict):
            field_bad.add(sec)
            continue
        for key, v in vals.items():
            full = f"{sec}.{key}"
            if full not in RULES or not _field_ok(full, v):
                field_bad.add(full)
    if field_bad:
        return field_bad, set()
    # defaults (docs/configuration.md) and the resolved (derived) values
    d = {k: v for k, v in Config().model_dump().items()}
    val = {f"{s}.{k}": v for s, sec in d.items() for k, v in sec.items()}
    val.update({f"{s}.{k}": v for s, sec in data.items() for k, v in sec.items()})
    # a [drive] table with a voltage and no current is under voltage control (config.Drive)
    if data.get("drive", {}).get("voltage") is not None and "current" not in data.get("drive", {}):
        val["drive.current"] = None
    L, W, h, t0 = val["geometry.length"], val["geometry.width"], val["geometry.thickness"], val["thermal.t0"]
    res = dict(val)
    res["geometry.electrode_length"] = val["geometry.electrode_length"] if val["geometry.electrode_length"] is not None else 0.1 * L
    res["geometry.electrode_width"] = val["geometry.electrode_width"] if val["geometry.electrode_width"] is not None else 0.02 * L
    res["material.kappa_substrate"] = val["material.kappa_substrate"] if val["material.kappa_substrate"] is not None else val["material.kappa"]
    res["mesh.size"] = val["mesh.size"] if val["mesh.size"] is not None else L / 20
    res["mesh.electrode_size"] = (val["mesh.electrode_size"] if val["mesh.electrode_size"] is not None
                                  else min(res["geometry.electrode_width"] / 2, res["mesh.size"]))
    res["solver.transition_width"] = val["solver.transition_width"] if val["solver.transition_width"] is not None else 0.01 * t0
    res["solver.initial_width"] = val["solver.initial_width"] if val["solver.initial_width"] is not None else 0.2 * t0
    res["solver.t_ceiling"] = val["solver.t_ceiling"] if val["solver.t_ceiling"] is not None else 10 * t0
    derived_from = {"geometry.electrode_length": {"geometry.length"}, "geometry.electrode_width": {"geometry.length"},
                    "material.kappa_substrate": {"material.kappa"}, "mesh.size": {"geometry.length"},
                    "mesh.electrode_size": {"mesh.size", "geometry.electrode_width", "geometry.length"},
                    "solver.transition_width": {"thermal.t0"}, "solver.initial_width": {"thermal.t0"},
                    "solver.t_ceiling": {"thermal.t0"}}
    bad: set[str] = set()
    for key, (lo, hi) in LIMITS.items():
        for values, extra in ((val, set()), (res, derived_from.get(key, set()))):
            v = values[key]
            if v is not None and v != 0 and not lo <= abs(v) <= hi:
                bad |= {key} | extra
    # the drive's estimated Ohmic rise rho_I I^2/(kappa L^2) above 1e5 K (docs/errors.md), with
    # I = |V|/(rho_I L/(W h) + R_load) under voltage control, unless drive.allow_implausible
    if not val["drive.allow_implausible"] and (val["drive.current"] is None) != (val["drive.voltage"] is None):
        rho, kap = val["material.rho_insulator"], val["material.kappa"]
        key = "drive.current" if val["drive.current"] is not None else "drive.voltage"
        try:
            if val["drive.current"] is not None:
                cur = abs(val["drive.current"])
            else:
                cur = abs(val["drive.voltage"]) / (rho * L / (W * h) + val["drive.load_resistance"])
            rise = rho * cur**2 / (kap * L**2)
        except (ZeroDivisionError, OverflowError):
            rise = math.inf
        if rise > 1e5:
            bad |= {key}
    for v in (val, res):
        if (v["drive.current"] is None) == (v["drive.voltage"] is None):
            bad |= {"drive.current", "drive.voltage"}
        if v["material.t_mit"] <= t0:
            bad |= {"material.t_mit", "thermal.t0"}
        if v["material.t_mit"] - v["material.hysteresis"] / 2 <= t0:
            bad |= {"material.hysteresis", "material.t_mit", "thermal.t0"}
        if v["material.rho_metal"] >= v["material.rho_insulator"]:
            bad |= {"material.rho_metal", "material.rho_insulator"}
        if v["geometry.electrodes"] == "point":
            e_w = v["geometry.electrode_width"] if v["geometry.electrode_width"] is not None else 0.02 * L
            e_l = v["geometry.electrode_length"] if v["geometry.electrode_length"] is not None else 0.1 * L
            if e_w >= W:
                bad |= {"geometry.electrode_width", "geometry.width", "geometry.length"}
            if 2 * e_l >= L:
                bad |= {"geometry.electrode_length", "geometry.length"}
        if v["solver.t_ceiling"] is not None and v["solver.t_ceiling"] <= t0:
            bad |= {"solver.t_ceiling", "thermal.t0"}
        tw, iw = v["solver.transition_width"], v["solver.initial_width"]
        if tw is not None and iw is not None and iw < tw:
            bad |= {"solver.initial_width", "solver.transition_width", "thermal.t0"}
        if v["mesh.size"] is not None and v["mesh.size"] > max(L, W, h):
            bad |= {"mesh.size", "geometry.length", "geometry.width", "geometry.thickness"}
        es, s = v["mesh.electrode_size"], v["mesh.size"]
        if es is not None and s is not None and es > s:
            bad |= {"mesh.electrode_size", "mesh.size", "geometry.length", "geometry.electrode_width"}
    if val["mesh.file"] is not None and not Path(val["mesh.file"]).is_file():
        bad.add("mesh.file")
    return set(), bad


def check_against_oracle(data, load) -> str:
    """Run `load()` and compare with the oracle; returns 'accepted' or 'rejected'."""
    field_bad, cross_bad = expected_problems(data)
    try:
        cfg = load()
    except InputError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith(exc.key), msg
        assert field_bad or cross_bad, f"valid config rejected: {msg}\n{data}"
        allowed = field_bad or cross_bad
        assert exc.key in allowed, f"error names {exc.key!r}, expected one of {sorted(allowed)}: {msg}"
        return "rejected"
    assert not field_bad and not cross_bad, f"invalid config accepted ({field_bad or cross_bad}): {data}"
    r = cfg.resolved()
    groups = r.groups()
    assert all(g is None or math.isfinite(g) for g in groups.values()), groups
    return "accepted"


# ---------------------------------------------------------------------------------------
# Generators


def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(f"{10 ** e:.3g}"))


HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0, 0.0, -0.0, -1, -1e-3, 1e308, -1e308, 5e-324, 1e-300,
                     1e300, 10**30, True, False, "", "1e-3", "point", "ends", "mumps", "p1", [1.0], {"a": 1},
                     None, NO_FILE, 1.0, 2, 0.5, 1e-12, 1e12, 1e7, 2e5]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**30, 10**30),
    st.text(max_size=6),
)


def plausible(key: str) -> st.SearchStrategy:
    kind, _, rule = RULES[key]
    if kind == "bool":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(_choices(key))
    if kind == "str":
        return st.just(NO_FILE)
    if kind == "int":
        return st.integers(0, 4) if rule == UPTO4 else st.integers(1, 10**6)
    if rule == OPEN01:
        return st.floats(0.01, 0.99)
    lo, hi = LIMITS.get(key, (1e-12, 1e6))
    mag = _log_uniform(max(lo, 1e-12), hi)
    return st.tuples(mag, st.booleans()).map(lambda t: -t[0] if (t[1] and rule == ANY) else t[0])


# nearby-valid values for the keys that matter most (so many configs are valid)
NEAR = {
    "geometry.length": _log_uniform(2e-4, 5e-3), "geometry.width": _log_uniform(1e-4, 5e-3),
    "geometry.thickness": _log_uniform(1e-5, 1e-3), "geometry.electrode_length": _log_uniform(1e-5, 1e-3),
    "geometry.electrode_width": _log_uniform(5e-6, 5e-4), "material.t_mit": st.floats(250, 500),
    "thermal.t0": st.floats(200, 400), "mesh.size": _log_uniform(2e-5, 1e-3),
    "mesh.electrode_size": _log_uniform(5e-6, 2e-4), "material.rho_metal": _log_uniform(1e-3, 0.1),
    "material.hysteresis": st.floats(0, 50), "drive.current": st.floats(-0.05, 0.05),
    "solver.t_ceiling": st.floats(250, 5000), "solver.coarse_meshes": st.integers(0, 2),
    "solver.sequencing_width": st.floats(3, 30),
}


@st.composite
def config_dicts(draw, allow_none: bool = True) -> dict:
    base = draw(st.sampled_from(["fig2a", "fig2d", "slab", None]))
    data = preset_data(base) if base else {}
    data = {k: dict(v) for k, v in data.items()}
    keys = sorted(RULES)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3, 4]))):
        key = draw(st.sampled_from(keys))
        sec, name = key.split(".")
        how = draw(st.sampled_from(["near", "near", "plausible", "hostile", "hostile", "type", "extreme", "delete"]))
        if how == "delete":
            data.get(sec, {}).pop(name, None)
            continue
        if how == "near" and key in NEAR:
            value = draw(NEAR[key])
        elif how == "hostile":
            value = draw(HOSTILE)
        elif how == "type":  # the wrong type for this key (bool for a number, a number as a string, ...)
            value = draw(st.sampled_from([True, False, "1e-3", "0.01", 1.0 if RULES[key][0] == "int" else "x",
                                          [1], {"a": 1}, 7 if RULES[key][0] in ("bool", "str", "choice") else None]))
        elif how == "extreme" and key in LIMITS:  # finite, but outside the plausible range
            lo, hi = LIMITS[key]
            value = draw(st.sampled_from([hi * 10, hi * 1e3, 1e300, -1e300] + ([lo / 10, lo / 1e3, 1e-300] if lo else [])))
        else:
            value = draw(plausible(key))
        if value is None and not allow_none:
            continue
        data.setdefault(sec, {})[name] = value
    # switch drive: sometimes voltage control (the oracle decides whether both/neither is set)
    if draw(st.integers(0, 5)) == 0:
        data.setdefault("drive", {})["voltage"] = draw(st.floats(-10, 10))
        if draw(st.booleans()):
            data["drive"]["current"] = None
    extra = draw(st.sampled_from([None, None, None, None, "unknown_key", "unknown_section", "not_a_table"]))
    if extra == "unknown_key":
        data.setdefault(draw(st.sampled_from(sorted(Config.model_fields))), {})["colour"] = 1
    elif extra == "unknown_section":
        data["colour"] = {"red": 1}
    elif extra == "not_a_table":
        data[draw(st.sampled_from(sorted(Config.model_fields)))] = draw(st.sampled_from([1, "x", [1]]))
    return data


OUTCOMES: dict[str, int] = {}


def _count(kind: str, outcome: str) -> None:
    OUTCOMES[f"{kind}:{outcome}"] = OUTCOMES.get(f"{kind}:{outcome}", 0) + 1


# ---------------------------------------------------------------------------------------
# In-process fuzzing


@settings(max_examples=N_DICT, **FUZZ)
@given(config_dicts())
def test_fuzz_config_dicts(data):
    _count("dict", check_against_oracle(data, lambda: from_dict(data)))


def _corrupt(draw, text: str) -> str:
    how = draw(st.sampled_from(["none", "none", "truncate", "insert", "duplicate", "colon", "unclosed"]))
    if how == "truncate" and text:
        return text[: draw(st.integers(0, len(text) - 1))]
    if how == "insert":
        pos = draw(st.integers(0, len(text)))
        return text[:pos] + draw(st.sampled_from(["=", "[", "]", '"', "\\", "\x00", "é", " = 1\n", "\n[x"])) + text[pos:]
    if how == "duplicate":
        lines = text.splitlines(keepends=True)
        assign = [ln for ln in lines if "=" in ln]
        return text + (draw(st.sampled_from(assign)) if assign else "a = 1\nb = \n")
    if how == "colon":
        return text.replace(" = ", ": ", 1)
    if how == "unclosed":
        return text + '\n[geometry\nlength = "1'
    return text


@settings(max_examples=N_TOML, **FUZZ)
@given(config_dicts(allow_none=False), st.data())
def test_fuzz_toml_files(data, draw):
    clean = {s: ({k: v for k, v in vals.items() if v is not None} if isinstance(vals, dict) else vals)
             for s, vals in data.items()}
    try:
        text = tomli_w.dumps(clean)
    except (TypeError, ValueError):  # a top-level non-table: write it by hand
        text = "\n".join(f"{s} = {v!r}" for s, v in clean.items() if not isinstance(v, dict)) + "\n"
    text = _corrupt(draw.draw, text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.toml"
        path.write_text(text, encoding="utf-8")
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            with pytest.raises(InputError) as exc:
                load_config(path=path)
            assert exc.value.key == str(path) and "not valid TOML" in exc.value.message
            assert "\n" not in str(exc.value)
            _count("toml", "malformed")
            return
        if not any(isinstance(v, dict) for v in parsed.values()):  # nothing under a [section]
            with pytest.raises(InputError) as exc:
                load_config(path=path)
            assert exc.value.key == str(path) and "no configuration sections" in exc.value.message
            assert "\n" not in str(exc.value)
            _count("toml", "rejected")
            return
        _count("toml", check_against_oracle(parsed, lambda: load_config(path=path)))


def _literal(value) -> str:
    if value is None:
        return "none"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


@settings(max_examples=N_SET, **FUZZ)
@given(config_dicts())
def test_fuzz_overrides(data):
    """The same configs as `--set` overrides on an empty base (each value rendered as TOML)."""
    overrides = []
    for sec, vals in data.items():
        if not isinstance(vals, dict):
            continue
        for key, v in vals.items():
            overrides.append(f"{sec}.{key}={_literal(v)}")
    parsed = {}
    for text in overrides:
        lhs, rhs = text.split("=", 1)
        sec, key = lhs.split(".")
        try:
            v = None if rhs in ("none", "null") else tomllib.loads(f"v = {rhs}")["v"]
        except tomllib.TOMLDecodeError:
            v = rhs
        parsed.setdefault(sec, {})[key] = v
    if any(s not in Config.model_fields for s in parsed):  # apply_overrides names section.key
        with pytest.raises(InputError) as exc:
            load_config(overrides=overrides)
        assert exc.value.key.split(".")[0] not in Config.model_fields
        _count("set", "rejected")
        return
    _count("set", check_against_oracle(parsed, lambda: load_config(overrides=overrides)))


def test_fuzz_covered_both_outcomes():
    """The generators must exercise both sides of the property (else the fuzz proves little)."""
    if not OUTCOMES:
        pytest.skip("run together with the fuzz tests")
    for kind in ("dict", "toml", "set"):
        assert OUTCOMES.get(f"{kind}:accepted", 0) >= 10, OUTCOMES
        assert OUTCOMES.get(f"{kind}:rejected", 0) >= 10, OUTCOMES
    print("fuzz outcomes:", OUTCOMES, "total", sum(OUTCOMES.values()))


@pytest.mark.parametrize("overrides, key", [
    (["drive.current=true"], "drive.current"),                  # bool is not a number
    (['geometry.length="1e-3"'], "geometry.length"),            # string is not a number
    (["solver.max_iterations=2.0"], "solver.max_iterations"),   # float is not an int
    (["drive.current=1e300"], "drive.current"),                 # overflowed J = rho I^2/(k L^2 T0)
    (["material.kappa=1e-320"], "material.kappa"),              # ZT0 divided by zero
    (["geometry.length=1e-300"], "geometry.length"),
    (["mesh.size=1e-300"], "mesh.size"),                        # cell estimate overflowed
    (["thermal.t0=1e308", "material.t_mit=1.7e308"], "material.t_mit"),
    (["solver.t_ceiling=250"], "solver.t_ceiling"),             # ceiling below the sink temperature
    (["mesh.electrode_size=1e-4"], "mesh.electrode_size"),      # above the derived mesh.size = L/20
])
def test_regressions_found_by_fuzzing(overrides, key):
    """Inputs that crashed (OverflowError, ZeroDivisionError, ValidationError) or were accepted."""
    with pytest.raises(InputError) as exc:
        load_config(preset="fig2a", overrides=overrides)
    assert exc.value.key == key


# ---------------------------------------------------------------------------------------
# Cell budget: refused before meshing, with the estimated count


def _need_dolfinx() -> None:
    import importlib.util

    if importlib.util.find_spec("dolfinx") is None or importlib.util.find_spec("gmsh") is None:
        pytest.skip("needs DOLFINx and gmsh")
    from mpi4py import MPI  # noqa: F401 -- loads libmpi before dolfinx


@settings(max_examples=N_BUDGET, **FUZZ)
@given(_log_uniform(1e-5, 2e-4), st.floats(0.1, 1.0), _log_uniform(1e2, 1e7))
def test_cell_budget_refuses_with_estimate(size, e_ratio, max_cells):
    _need_dolfinx()
    from fem_peltier.mesh import check_budget, estimate_cells

    cfg = load_config(preset="fig2a", overrides=[f"mesh.size={size}", f"mesh.electrode_size={size * e_ratio}",
                                                 f"mesh.max_cells={int(max_cells)}"]).resolved()
    est = estimate_cells(cfg)
    if est > cfg.mesh.max_cells:
        with pytest.raises(InputError) as exc:
            check_budget(cfg)
        assert exc.value.key == "mesh.max_cells" and f"estimated {est} cells" in exc.value.message
    else:
        check_budget(cfg)


# ---------------------------------------------------------------------------------------
# Through the real CLI


def fem(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fem_peltier", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=dict(os.environ))


def assert_one_line_exit_2(proc, allowed: set[str], out: Path) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("fem-peltier: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert any(k in lines[0] for k in allowed), (allowed, lines[0])
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*")), "something was written"
    return lines[0]


@settings(max_examples=N_CLI, **FUZZ)
@given(config_dicts().filter(lambda d: any(expected_problems(d))
                             and all(s in Config.model_fields and isinstance(v, dict) for s, v in d.items())))
def test_cli_rejects_generated_bad_configs(data):
    overrides = [f"{s}.{k}={_literal(v)}" for s, vals in data.items() for k, v in vals.items()]
    field_bad, cross_bad = expected_problems(data)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        # all keys come from the overrides (an empty file is refused: one empty section)
        (Path(tmp) / "empty.toml").write_text("[geometry]\n")
        args = [a for o in overrides for a in ("--set", o)]
        proc = fem("run", "empty.toml", *args, "--out", str(out), cwd=Path(tmp))
        if proc.returncode == 2 and "--set" in proc.stderr and "section.key=value" in proc.stderr:
            return  # a value whose TOML rendering contains '=' confuses nothing else; still exit 2
        assert_one_line_exit_2(proc, field_bad or cross_bad, out)


def test_cli_cell_budget_refused_before_meshing(tmp_path):
    _need_dolfinx()
    out = tmp_path / "huge"
    t = time.perf_counter()
    proc = fem("run", "--preset", "fig2a", "--set", "mesh.size=2e-6", "--set", "mesh.electrode_size=1e-6",
               "--out", str(out), cwd=tmp_path, timeout=60)
    line = assert_one_line_exit_2(proc, {"mesh.max_cells"}, out)
    assert "estimated" in line and "cells exceed mesh.max_cells = 3000000" in line
    assert time.perf_counter() - t < 60  # a billion-cell gmsh run would not return


def test_cli_malformed_toml_and_nan(tmp_path):
    (tmp_path / "nan.toml").write_text("[material]\nkappa = nan\n")
    (tmp_path / "dup.toml").write_text("[geometry]\nlength = 1e-3\nlength = 2e-3\n")
    for name, key in (("nan.toml", "material.kappa"), ("dup.toml", "dup.toml")):
        out = tmp_path / f"out_{name}"
        proc = fem("run", name, "--out", str(out), cwd=tmp_path)
        assert_one_line_exit_2(proc, {key}, out)
