"""The contacts study's report section and the merge of a partial `validate --only` run into an
existing report (fem_peltier/validation_report.py: merge_results, contacts_section; commands.py).
No solve: the results are small fakes."""

from __future__ import annotations

import json
import types
from pathlib import Path

from fem_peltier import cli, commands
from fem_peltier.checks import SUITE, Check
from fem_peltier import validation_report as vr


def _run(model, pol, cat, x0, xL, tmean, ttop, qc):
    return {
        "label": f"{model} {pol}", "model": model, "polarity": pol, "current_A": 0.01 if pol == "+I" else -0.01,
        "T0_K": 300.0, "converged": True, "category": cat, "metal_regions": 1, "metal_channel": cat == "channel",
        "metal_fraction": 0.1, "T_mean_K": tmean, "T_top_mean_K": ttop, "T_max_K": 600.0, "voltage_V": 3.0,
        "heat_joule_W": 0.03, "heat_peltier_W": 0.001, "heat_contact_peltier_W": qc, "heat_balance_rel": 1e-13,
        "cells": 100, "reach_x0_over_L": x0, "reach_xL_over_L": xL, "wall_s": 1.0,
    }


def _regime_pt(J, P, cat):
    return {"J": J, "P": P, "category": cat, "converged": True, "metal_fraction": 0.05, "T_max_K": 400.0,
            "T_mean_K": 310.0, "T_top_mean_K": 320.0, "neg_reach_over_L": 0.3, "pos_reach_over_L": 0.1,
            "heat_contact_peltier_W": -1e-4}


def _old_result():
    eq = Check("eq8_eq9", "Eqs. 8-9: the slab")
    eq.compare("T at mid-height", 301.0, 301.0, 1e-6)
    return {"checks": [eq], "figures": {"regime": ["regime_map.png"]}, "timings": {"eq8_eq9": 3.0, "regime": 100.0},
            "regime": [_regime_pt(0.2, 0.2, "channel"), _regime_pt(0.02, 0.4, "negative only")],
            "level": "full", "ranks": 1}


def _contacts_result():
    ch = Check("contacts", "Contacts study")
    ch.info("contacts +I: T_mean / T0", 1.02)
    ch.data = {
        "runs": [
            _run("paper", "+I", "channel", 1.0, 1.0, 326.6, 346.6, None),
            _run("paper", "-I", "channel", 1.0, 1.0, 326.6, 346.6, None),
            _run("contacts", "+I", "negative only", 0.4, 0.0, 315.0, 321.0, -2e-4),
            _run("contacts", "-I", "negative only", 0.0, 0.4, 315.0, 321.0, -2e-4),
        ],
        "regime": [_regime_pt(0.2, 0.2, "both"), _regime_pt(0.02, 0.4, "negative only")],
        "mesh": [], "regime_mesh": ["mesh.size=1e-4"], "level": "full",
    }
    return {"checks": [ch], "figures": {}, "timings": {"contacts": 50.0}, "regime": [], "level": "full", "ranks": 1}


def test_merge_keeps_other_parts_and_renders_contacts(tmp_path):
    vr.write_report(_old_result(), tmp_path)
    merged = vr.merge_results(vr.load_result(tmp_path), _contacts_result(), ("contacts",))
    vr.write_report(merged, tmp_path)
    data = json.loads((tmp_path / "validation" / "validation.json").read_text())
    assert [c["name"] for c in data["checks"]] == ["eq8_eq9", "contacts"]
    assert [p["category"] for p in data["regime"]] == ["channel", "negative only"]  # not dropped, not rerun
    assert data["timings"] == {"eq8_eq9": 3.0, "regime": 100.0, "contacts": 50.0}
    assert data["levels"] == {"contacts": "full"}
    md = (tmp_path / "validation.md").read_text()
    assert "## Eqs. 8-9: the slab" in md and "## Regime map" in md and "## Contacts study" in md
    assert "| contacts +I | negative only | 1 | 0.40 | 0.00 |" in md
    # the regime point's paper-model category comes from the existing map
    assert "| 0.2 | 0.2 | channel | both |" in md
    assert "+I: the pattern is **changed** by the contacts (channel -> negative only)" in md
    assert "T_mean -3.552 %" in md
    assert "(0.02, 0.4): 0.30 / 0.10 -> 0.30 / 0.10, -0.0001" in md
    assert "**is confined to the negative electrode**" in md
    assert "T_mean = 1.050 T0 (+0.000)" in md
    assert "the contacts change the category at 1 of 2 points ((0.2, 0.2): channel -> both)." in md
    # a second partial run replaces the contacts check, it does not duplicate it
    again = vr.merge_results(vr.load_result(tmp_path), _contacts_result(), ("contacts",))
    assert [c.name for c in again["checks"]] == ["eq8_eq9", "contacts"]


def test_validate_only_merges_into_existing_report(monkeypatch, tmp_path):
    """`validate --only contacts --out DIR` adds its part to DIR's report; the rest stays."""
    vr.write_report(_old_result(), tmp_path)
    calls = []

    def run_suite(level, out, parts):
        calls.append(parts)
        return _contacts_result()

    fake = types.SimpleNamespace(SUITE=SUITE, run_suite=run_suite, merge_results=vr.merge_results,
                                 load_result=vr.load_result, write_report=vr.write_report)
    monkeypatch.setattr(commands, "_import_solver_module", lambda name: fake)
    assert cli.main(["validate", "--only", "contacts", "--out", str(tmp_path)]) == 0
    assert calls == [("contacts",)]
    data = json.loads((Path(tmp_path) / "validation" / "validation.json").read_text())
    assert [c["name"] for c in data["checks"]] == ["eq8_eq9", "contacts"]
    assert len(data["regime"]) == 2
