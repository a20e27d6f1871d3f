"""The validation report: docs/validation.md, validation/validation.json and .csv, and the checks' plots.

Rank 0 writes; nothing here solves. `load_result` rebuilds a result from validation.json
so that the report can be re-rendered without solving.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .checks import REGIME_MESH, Check, Row, preset_config as _config
from .closed_forms import eq11_thickness, eq11_voltage
from .files import atomic_write_text, jsonable
from .parallel import is_root
from .plotting import pyplot


def _fmt(x: Any, kind: str = "abs") -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if not math.isfinite(x):
            return "n/a"
        return f"{x:.4g}"
    return str(x)


def check_table(ch: Check) -> list[str]:
    """Markdown table of a check's rows."""
    lines = ["| quantity | computed | expected | error | tolerance | pass | note |", "|---|---|---|---|---|---|---|"]
    for r in ch.rows:
        tol = "" if r.tolerance is None else (f"{r.tolerance:.3g} (rel)" if r.kind == "rel" else f"{r.tolerance:.3g}")
        ok = "" if r.passed is None else ("PASS" if r.passed else "**FAIL**")
        lines.append(
            f"| {r.quantity} | {_fmt(r.computed)} | {_fmt(r.expected)} | {_fmt(r.error)} | {tol} | {ok} | {r.note} |"
        )
    return lines


def rows_csv(checks: list[Check]) -> str:
    """All rows as CSV: check, quantity, computed, expected, error, tolerance, kind, pass, note."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["check", "quantity", "computed", "expected", "error", "tolerance", "kind", "pass", "note"])
    for ch in checks:
        for r in ch.rows:
            w.writerow(
                [
                    ch.name,
                    r.quantity,
                    r.computed,
                    r.expected,
                    r.error,
                    r.tolerance,
                    r.kind,
                    "" if r.passed is None else r.passed,
                    r.note,
                ]
            )
    return buf.getvalue()


def save_raw(checks: list[Check], outdir: Path, extra: dict | None = None) -> None:
    """validation.json (rows + raw data) and validation.csv (rows) in outdir (rank 0)."""
    if not is_root():
        return
    outdir.mkdir(parents=True, exist_ok=True)
    payload = {"checks": [asdict(ch) for ch in checks], **(extra or {})}
    atomic_write_text(outdir / "validation.json", json.dumps(jsonable(payload), indent=1) + "\n")
    atomic_write_text(outdir / "validation.csv", rows_csv(checks))


def _regime_conclusion(pts: list[dict]) -> list[str]:
    """Sentences about where the paper's cases fall, computed from the map's points."""
    by = {(p["J"], p["P"]): p for p in pts}
    lines = []
    for label, key in (("Fig. 2a,b (J = 0.2, P = 0.2)", (0.2, 0.2)), ("Fig. 2c (J = 1.2, P = 0.02)", (1.2, 0.02))):
        if key in by:
            p = by[key]
            lines.append(
                f"- {label}: **{p['category']}** (metal fraction {p['metal_fraction']:.3f}, "
                f"T_max = {p['T_max_K']:.1f} K) on the map's mesh."
            )
    for P in sorted({p["P"] for p in pts}, reverse=True):
        row = sorted((p for p in pts if p["P"] == P), key=lambda p: p["J"])
        lines.append(f"- Along P = {P:g}: " + "; ".join(f"J = {p['J']:g} {p['category']}" for p in row) + ".")
    neg = sorted({(p["J"], p["P"]) for p in pts if p["category"] == "negative only"})
    if neg:
        lines.append(
            "- Metal at the negative electrode only (the paper's Fig. 2a picture) at (J, P) = "
            + ", ".join(f"({J:g}, {P:g})" for J, P in neg)
            + "."
        )
    else:
        lines.append("- No grid point gave metal at the negative electrode only.")
    for cat in ("both", "channel", "positive only", "detached", "not converged"):
        sel = sorted({(p["J"], p["P"]) for p in pts if p["category"] == cat})
        if sel:
            lines.append(f"- {cat}: " + ", ".join(f"({J:g}, {P:g})" for J, P in sel) + ".")
    return lines


def write_report(result: dict[str, Any], outdir: Path, command: str = "fem-peltier validate --out docs") -> Path:
    """docs/validation.md from a run_suite result, plus validation/validation.json and .csv (rank 0)."""
    from . import __version__
    from .regime import regime_table

    outdir = Path(outdir)
    picdir = outdir / "validation"
    checks: list[Check] = result["checks"]
    save_raw(
        checks,
        picdir,
        {
            "regime": result["regime"],
            "timings": result["timings"],
            "level": result["level"],
            "figures": result["figures"],
            "ranks": result["ranks"],
            "levels": result.get("levels", {}),
        },
    )
    if not is_root():
        return outdir / "validation.md"
    L: list[str] = [
        "# fem_peltier validation report",
        "",
        f"*Generated by `{command}` (fem_peltier {__version__}, level `{result['level']}`, "
        f"{result['ranks']} MPI rank(s); default solver: current discretization "
        f"`{_config('fig2a', []).solver.current_discretization}`, final band width "
        f"{_config('fig2a', []).solver.transition_width:g} K unless a check says otherwise). "
        "Do not edit by hand: rerun the command.* Raw numbers: "
        "[validation/validation.json](validation/validation.json), "
        "[validation/validation.csv](validation/validation.csv).",
        "",
        *(
            [
                "Parts run separately into this report (`--only`): "
                + ", ".join(f"{k} (level `{v}`)" for k, v in result["levels"].items())
                + "; the other parts keep the numbers of the run above.",
                "",
            ]
            if result.get("levels")
            else []
        ),
        "Closed forms are those of docs/physics.md, Closed-form checks (paper Eqs. 8-14). "
        "Errors are absolute unless the tolerance says (rel). Rows without a tolerance are reported, not tested.",
        "",
        "## Summary",
        "",
        "| check | rows passed | wall time (s) |",
        "|---|---|---|",
    ]
    for ch in checks:
        tested = [r for r in ch.rows if r.passed is not None]
        L.append(f"| {ch.title} | {sum(bool(r.passed) for r in tested)}/{len(tested)} | {ch.wall_s:.0f} |")
    for part in ("figures", "regime"):
        if part in result["timings"]:
            L.append(f"| {part} (runs) | | {result['timings'][part]:.0f} |")
    L.append(f"| **total** | | {sum(result['timings'].values()):.0f} |")
    L.append("")
    for ch in checks:
        L += [f"## {ch.title}", "", ch.text, ""] if ch.text else [f"## {ch.title}", ""]
        if ch.name != "contacts":  # its rows are in the csv; the section has its own tables
            L += check_table(ch)
            L.append("")
        for f in ch.figures:
            L += [f"![{f}](validation/{f})", ""]
        if ch.name == "eq14":
            L += EQ14_NOTE
        if ch.name == "mesh":
            L += MESH_NOTE
        if ch.name == "contacts":
            L += contacts_section(ch, result)
        if ch.name == "means":
            L += MEANS_NOTE
            for fig in ("fig2a", "fig2c", "fig2d", "fig2e"):
                for f in result["figures"].get(fig, []):
                    L += [f"![{f}](validation/{f})", ""]
    if result["regime"]:
        L += [
            "## Regime map: where does Fig. 2 sit?",
            "",
            "Each (J, P) point is solved from a cold start at W = L, h/L = 0.2, r = 0.1, theta = 1.2 "
            "(the fig2a preset with I and S_I set from J and P, current > 0 so that current leaves the film "
            "at the negative electrode x < 0.1 L) on the coarse mesh (`"
            + " ".join(REGIME_MESH[result["level"]])
            + "`), and classified from its connected metal regions (film cells with m >= 0.5 joined through "
            "shared faces): channel when one region touches both electrodes, both / negative only / positive "
            "only by which electrodes the regions touch, detached when none does. Cell: category (metal fraction).",
            "",
        ]
        L += regime_table(result["regime"])
        L += ["", "![regime map](validation/regime_map.png)", "", "Computed conclusions:", ""]
        L += _regime_conclusion(result["regime"])
        L += ["", *REGIME_NOTE]
    path = outdir / "validation.md"
    path.write_text("\n".join(L).rstrip() + "\n")
    return path


EQ14_NOTE = [
    "Where Eq. 14 can and cannot hold. The formula is the r -> 0 asymptote of Eq. 13 under: Joule heat "
    "neglected (exact here, switched off); h << r_c << L (here h = 25 um, r_c = 100-280 um, L = 1 mm, so "
    "h/r_c = 0.09-0.25 and r_c/L up to 0.28: the film's finite size matters at the largest current); "
    "current flowing parallel to the film (fails within ~h of the electrode and at the wedge tip, where the "
    "current crosses the interface); a point electrode at the film edge feeding a half disc (here a square "
    "patch of 50 um, not small against the smallest r_c); and d(r -> 0) > r h (the metal fills most of the "
    "thickness at the electrode, checked by d(0) in the table). The measured radius also depends on the band "
    "width and the cell size (25 um in x, y), which quantise r to about one cell.",
    "",
]
MESH_NOTE = [
    "Observed order p = ln((f1 - f2)/(f2 - f3)) / ln(ratio) from the three meshes; a negative or missing "
    "value means the differences do not shrink geometrically yet (not in the asymptotic range), and no "
    "Richardson value is given then. The last rows solve the finest mesh again with the other current "
    "discretization (P1 potential vs the mixed Raviart-Thomas current): both close the energy balance "
    "exactly (Joule = V I, Joule + Peltier = sink), so their difference measures how well the current "
    "crowding at the 0.02 L wide electrode patches is resolved. T_max and V sit in that region and differ "
    "most; T_mean and the metal fraction are the robust outputs.",
    "",
]
MEANS_NOTE = [
    "The paper reports T_mean = 1.05 T0 and T_top_mean = 1.07 T0 for Fig. 2a. The figure runs use each "
    "preset's default mesh (quick level: a coarse mesh). The comparison is reported, not tested: the "
    "regime map below shows which metal pattern this model forms at the caption's numbers, and the mean "
    "temperatures belong to that pattern, not necessarily to the paper's localized one.",
    "",
]
REGIME_NOTE = [
    "Interpretation (the table and the computed conclusions above are the evidence). Taken literally, the "
    "caption's J = P = 0.2 with the electrode patches of docs/physics.md (Geometry) does not reproduce Fig. 2a: "
    "the Peltier asymmetry is present (the metal is deeper and hotter at the negative electrode, and "
    "reversing the current mirrors the pattern exactly, see the polarity figure) but Joule heating keeps "
    "the film metallic all the way between the patches. Metal confined near the negative electrode, as "
    "in the paper, appears only where the Peltier number is large against the Joule number (Z T0 = P^2/J "
    "well above the caption's 0.2), i.e. at several times smaller J or larger Delta S. At small J the "
    "narrow equipotential patches still concentrate the current enough to leave a small metal cap under "
    "the positive electrode too ('both' with a short positive reach).",
    "",
    "Most likely causes of the disagreement, in decreasing order of our confidence: (1) the electrodes: "
    "the paper's 'point' electrodes are only sketched, while here they are 0.1 L x 0.02 L equipotential "
    "patches whose current crowding dominates the local heating (T_max is not mesh-converged and differs "
    "between the P1 and mixed current discretizations, see the mesh check); a wider or resistive contact "
    "would heat less at the positive electrode and along the channel; (2) the Fig. 2a caption speaks of "
    "a 'trial phase boundary', which suggests a prescribed or partly iterated interface rather than a "
    "self-consistent steady state; (3) the caption's numbers are approximate ('I ~ 10 mA'), and a factor "
    "of a few in J moves the point across the channel boundary. The band width w (3 K = 0.01 T0 here) is "
    "not varied in this report; docs/physics.md reports the integral quantities nearly stationary "
    "between band widths of 0.005-0.01 T0, and the last continuation levels of fig2a change the metal "
    "fraction by well under 1 per cent, small against what separates the regimes.",
    "",
]


def load_result(outdir: Path) -> dict[str, Any]:
    """A run_suite result rebuilt from outdir/validation/validation.json (to re-render the report)."""
    data = json.loads((Path(outdir) / "validation" / "validation.json").read_text())
    checks = []
    for c in data["checks"]:
        # a non-finite computed value is stored as null: back to nan (rendered "n/a", as in the run)
        rows = [Row(**{**r, "computed": math.nan if r["computed"] is None else r["computed"]}) for r in c.pop("rows")]
        checks.append(Check(rows=rows, **c))
    return {
        "checks": checks,
        "figures": data.get("figures", {}),
        "regime": data.get("regime", []),
        "timings": data.get("timings", {}),
        "level": data.get("level", "full"),
        "ranks": data.get("ranks", 1),
        "levels": data.get("levels", {}),
    }


def merge_results(old: dict[str, Any], new: dict[str, Any], parts: tuple[str, ...]) -> dict[str, Any]:
    """A previous result (load_result) with the parts just run (`new`, run_suite(..., parts)) put in.

    Checks of `new` replace those of the same name in place (new ones are appended); the figures
    and timings of `new` replace those keys; the regime map is replaced only when "regime" was run.
    The header's level and rank count stay those of `old`; `levels` records each part's level.
    """
    names = {ch.name for ch in new["checks"]}
    checks = [ch for ch in old["checks"] if ch.name not in names]
    order = [ch.name for ch in old["checks"]]
    for ch in new["checks"]:
        if ch.name in order:
            checks.insert(min(order.index(ch.name), len(checks)), ch)
        else:
            checks.append(ch)
    levels = dict(old.get("levels", {}))
    levels.update({p: new["level"] for p in parts})
    return {
        "checks": checks,
        "figures": {**old.get("figures", {}), **new.get("figures", {})},
        "regime": new["regime"] if "regime" in parts else old.get("regime", []),
        "timings": {**old.get("timings", {}), **new.get("timings", {})},
        "level": old.get("level", new["level"]),
        "ranks": old.get("ranks", new["ranks"]),
        "levels": levels,
    }


def _pct(a: float, b: float) -> str:
    return f"{100.0 * (a - b) / b:+.3f} %"


def _reach(x: Any) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def contacts_section(ch: Check, result: dict[str, Any]) -> list[str]:
    """Tables and computed conclusions of the contacts study (check "contacts")."""
    runs: list[dict] = ch.data.get("runs", [])
    pts: list[dict] = ch.data.get("regime", [])
    level = ch.data.get("level", "full")
    mesh = " ".join(ch.data.get("mesh", [])) or "the preset's default mesh"
    L = [
        "fig2a at the caption's numbers (I = 10 mA, Delta S = 2 mV/K, S_M = 0) solved at +I and -I, with "
        "the paper's model (no Seebeck EMF in the current, no contacts) and with metal contacts "
        "(`thermal.seebeck_emf = true`, `material.seebeck_electrode = 0`: Peltier heat "
        "T (S_film - S_e) j.n where the current crosses each film/electrode contact), "
        f"level `{level}`, mesh: `{mesh}` (the figures part's fig2a mesh). "
        "Pattern by the electrodes' polarity (the negative electrode is the one the current leaves "
        "the film through: x = 0 at +I, x = L at -I). Reaches are those of the metal regions touching "
        "each electrode patch, measured from x = 0 and from x = L, in units of L (a channel reaches 1 "
        "from both).",
        "",
        "| run | pattern | metal regions | reach from x = 0 (L) | reach from x = L (L) | metal fraction "
        "| T_mean/T0 | T_top_mean/T0 | T_max (K) | V (V) | contact Peltier (W) | Joule (W) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if not r.get("converged"):
            L.append(f"| {r['label']} | not converged | | | | | | | | | | |")
            continue
        t0 = r["T0_K"]
        L.append(
            f"| {r['label']} | {r['category']} | {r['metal_regions']} | {_reach(r['reach_x0_over_L'])} | "
            f"{_reach(r['reach_xL_over_L'])} | {r['metal_fraction']:.4f} | {r['T_mean_K'] / t0:.4f} | "
            f"{r['T_top_mean_K'] / t0:.4f} | {r['T_max_K']:.1f} | {r['voltage_V']:.4g} | "
            f"{_fmt(r.get('heat_contact_peltier_W'))} | {_fmt(r.get('heat_joule_W'))} |"
        )
    L.append("")
    paper = {(p["J"], p["P"]): p for p in result.get("regime", [])}
    if pts:
        L += [
            "Regime map points solved again with contacts (same cold start and mesh as the regime map, `"
            + " ".join(ch.data.get("regime_mesh", []))
            + "`, current > 0; reaches from the negative / positive electrode in units of L). The paper-model "
            "column is the regime map's own point below (n/a when the map was not run).",
            "",
            "| J | P | paper model | with contacts | reach neg / pos (contacts) | metal fraction (contacts) "
            "| T_mean/T0 (contacts) | contact Peltier (W) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        t_ref = _config("fig2a", []).thermal.t0  # the regime points keep the preset's T0
        for p in pts:
            q = paper.get((p["J"], p["P"]))
            pc = "n/a" if q is None else q["category"]
            if p["converged"]:
                t0 = p["T_mean_K"] / t_ref
                L.append(
                    f"| {p['J']:g} | {p['P']:g} | {pc} | {p['category']} | {_reach(p.get('neg_reach_over_L'))} / "
                    f"{_reach(p.get('pos_reach_over_L'))} | {p['metal_fraction']:.4f} | {t0:.4f} | "
                    f"{_fmt(p.get('heat_contact_peltier_W'))} |"
                )
            else:
                L.append(f"| {p['J']:g} | {p['P']:g} | {pc} | not converged | | | | |")
        L.append("")
    L += ["Computed conclusions:", ""]
    L += contacts_conclusion(runs, pts, paper)
    L.append("")
    return L


def contacts_conclusion(runs: list[dict], pts: list[dict], paper: dict) -> list[str]:
    """Sentences computed from the contacts study's numbers."""
    by = {(r["model"], r["polarity"]): r for r in runs if r.get("converged")}
    lines = []
    for pol in ("+I", "-I"):
        a, b = by.get(("paper", pol)), by.get(("contacts", pol))
        if a is None or b is None:
            lines.append(f"- {pol}: a run did not converge; no comparison.")
            continue
        same = "unchanged" if a["category"] == b["category"] else "changed"
        lines.append(
            f"- {pol}: the pattern is **{same}** by the contacts ({a['category']} -> {b['category']}); "
            f"reach from x = 0 {_reach(a['reach_x0_over_L'])} -> {_reach(b['reach_x0_over_L'])} L, "
            f"from x = L {_reach(a['reach_xL_over_L'])} -> {_reach(b['reach_xL_over_L'])} L; "
            f"T_mean {_pct(b['T_mean_K'], a['T_mean_K'])}, T_top_mean {_pct(b['T_top_mean_K'], a['T_top_mean_K'])}, "
            f"metal fraction {a['metal_fraction']:.4f} -> {b['metal_fraction']:.4f}; contact Peltier heat "
            f"{_fmt(b.get('heat_contact_peltier_W'))} W against {_fmt(b.get('heat_joule_W'))} W of Joule heat."
        )
    b = by.get(("contacts", "+I"))
    if b is not None:
        t0 = b["T0_K"]
        tm, tt = b["T_mean_K"] / t0, b["T_top_mean_K"] / t0
        neg = b["category"] == "negative only"
        lines.append(
            f"- Against the paper (Fig. 2a: metal at the negative electrode only, T_mean = 1.05 T0, "
            f"T_top_mean = 1.07 T0): with contacts T_mean = {tm:.3f} T0 ({tm - 1.05:+.3f}), "
            f"T_top_mean = {tt:.3f} T0 ({tt - 1.07:+.3f}), and the metal "
            + (
                "**is confined to the negative electrode**, as in the paper."
                if neg
                else f"is **{b['category']}**, not the paper's negative-only pattern."
            )
        )
    zero = [r for r in by.values() if r["model"] == "contacts" and not r.get("heat_contact_peltier_W")]
    if zero and all(r["category"] == "channel" for r in zero):
        lines.append(
            "- Where the contact Peltier heat is 0 the metal covers both contacts: S_film = S_M = 0 equals the "
            "electrodes' S_e = 0 there, so the contacts release no heat and only the Seebeck EMF acts; the "
            "differences above are its effect."
        )
    if pts:
        moved = [
            p
            for p in pts
            if (p["J"], p["P"]) in paper
            and p["converged"]
            and paper[(p["J"], p["P"])].get("neg_reach_over_L") is not None
            and p.get("neg_reach_over_L") is not None
        ]
        if moved:
            lines.append(
                "- Regime points, reach from the negative / positive electrode (L), paper model -> contacts, and "
                "the contact Peltier heat (W; < 0: the contacts cool the film): "
                + "; ".join(
                    f"({p['J']:g}, {p['P']:g}): {_reach(paper[(p['J'], p['P'])]['neg_reach_over_L'])} / "
                    f"{_reach(paper[(p['J'], p['P'])]['pos_reach_over_L'])} -> {_reach(p['neg_reach_over_L'])} / "
                    f"{_reach(p['pos_reach_over_L'])}, {_fmt(p.get('heat_contact_peltier_W'))}"
                    for p in moved
                )
                + "."
            )
        changed = [p for p in pts if (p["J"], p["P"]) in paper and paper[(p["J"], p["P"])]["category"] != p["category"]]
        compared = [p for p in pts if (p["J"], p["P"]) in paper]
        if compared:
            lines.append(
                f"- Regime points: the contacts change the category at {len(changed)} of {len(compared)} points"
                + (
                    " ("
                    + "; ".join(
                        f"({p['J']:g}, {p['P']:g}): {paper[(p['J'], p['P'])]['category']} -> {p['category']}"
                        for p in changed
                    )
                    + ")."
                    if changed
                    else "."
                )
            )
    return lines


# ---------------------------------------------------------------------------------------
# Plots of the checks (rank 0)


def plot_vi(pts: list[dict], jcr: float, mat, g, path: Path) -> str:
    """Fig. 1b: V vs I from the sweep against Eq. 11, and d/h vs j0/j_cr (rank 0)."""
    plt = pyplot()
    L, W, h = g.length, g.width, g.thickness
    rr = np.linspace(0.01, max(pt["ratio"] for pt in pts) * 1.05, 400)
    Vc = [eq11_voltage(x, jcr, mat.rho_insulator, mat.rho_metal, h, L) for x in rr]
    dc = [eq11_thickness(x, mat.rho_metal / mat.rho_insulator) for x in rr]
    I_scale = jcr * W * h
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(Vc, rr * I_scale * 1e3, "k-", label="closed form (Eqs. 9, 11)")
    ok = [pt for pt in pts if pt["converged"]]
    ax[0].plot(
        [pt["voltage_V"] for pt in ok],
        [pt["current_A"] * 1e3 for pt in ok],
        "o",
        color="C3",
        label="fem_peltier (warm-started sweep)",
    )
    ax[0].set_xlabel("V (V)")
    ax[0].set_ylabel("I (mA)")
    ax[0].set_title("Fig. 1b: V-I of the slab (N-shaped V(I))")
    ax[0].legend()
    ax[1].plot(rr, dc, "k-", label="Eq. 11")
    ax[1].plot([pt["ratio"] for pt in ok], [pt["d_over_h"] for pt in ok], "o", color="C3", label="m = 0.5 crossing")
    ax[1].plot(
        [pt["ratio"] for pt in ok], [pt["d_integral_over_h"] for pt in ok], "x", color="C0", label="integral of m"
    )
    ax[1].set_xlabel("j0 / j_cr")
    ax[1].set_ylabel("d / h")
    ax[1].set_title("metal layer thickness at x = L/2")
    ax[1].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def plot_eq14(pts: list[dict], h: float, path: Path) -> str:
    """r vs |I| against Eq. 14 (rank 0)."""
    plt = pyplot()
    I = np.array([pt["current_A"] for pt in pts])
    Ic = np.geomspace(I.min() * 0.8, I.max() * 1.25, 50)
    rc = np.array([pt["r_c_eq14"] for pt in pts])
    k = rc[0] / math.sqrt(I[0])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(Ic * 1e3, k * np.sqrt(Ic) * 1e6, "k-", label="Eq. 14")
    for key, mk, lab in (
        ("r_area", "o", "area-equivalent radius"),
        ("r_x", "s", "reach along x"),
        ("r_y", "^", "half-width along y"),
    ):
        ax.loglog(I * 1e3, [pt[key] * 1e6 for pt in pts], mk, label=lab)
    ax.set_xlabel("|I| (mA)")
    ax.set_ylabel("metal radius on the top surface (um)")
    ax.set_title(f"Peltier-only limit, h = {h * 1e6:g} um")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
