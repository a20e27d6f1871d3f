"""The switching report of a sweep: ramps, where metal appears and vanishes, loop width, first-metal side.

Read from the rows of sweep.csv only (no DOLFINx, no matplotlib). The first-metal side
comes from the connected metal regions of the point (metal_regions.py), not from the
overall extent of the metal.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .metal_regions import spans_midline
from .sweep_plan import directions

#: "metal is present" when some film is metallic (m >= 0.5) below this fraction counts as none
METAL_FRACTION_EPS = 1e-4
#: A metal-fraction step is a jump (a switch) when its rate per unit drive exceeds this many
#: times the rate of each neighbouring step; a smooth growth is not a switch.
JUMP_RATIO = 3.0
#: The metal sits at one electrode when the regions on that side hold more than this many
#: times the metal volume of the regions on the other side (metal_side); else "both".
SIDE_MAJORITY = 2.0


def row_float(row: dict[str, str], key: str) -> float | None:
    """A finite float from a sweep.csv row, or None (missing, empty, NaN or not a number)."""
    try:
        v = float(row.get(key) or "")
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def metal_present(row: dict[str, str]) -> bool:
    """Some film is metallic (m >= 0.5) at this point."""
    depth = row_float(row, "metal_max_depth_m")
    if depth is not None:
        return depth > 0
    if row.get("metal_top_x_range_m"):
        return True
    mf = row_float(row, "metal_fraction")
    return mf is not None and mf > METAL_FRACTION_EPS


def region_list(row: dict[str, str]) -> list[dict[str, Any]] | None:
    """The metal regions of a row (its metal_region_list column), or None when the table has
    no such column (written before the regions were reported) or the cell is not a list."""
    text = row.get("metal_region_list")
    if not text:
        return None
    try:
        regions = json.loads(text)
    except ValueError:
        return None
    return regions if isinstance(regions, list) else None


def region_side(region: dict[str, Any], length: float) -> str:
    """The side of one region: the electrode it touches ("both" for a channel touching the two),
    else the side of its x midpoint ("both" exactly at L/2)."""
    neg, pos = bool(region.get("touches_negative")), bool(region.get("touches_positive"))
    if neg or pos:
        return "both" if neg and pos else "negative" if neg else "positive"
    x0, x1 = region["x_range_m"]
    mid = (x0 + x1) / 2
    return "negative" if mid < length / 2 else "positive" if mid > length / 2 else "both"


def metal_side(row: dict[str, str], length: float) -> dict[str, Any]:
    """Which electrode the metal sits at, from the connected metal regions (metal_region_list).

    Each region has a side (region_side: the electrode it touches, else where its middle is).
    The row's side is "both" when one region joins the two electrodes, else the side whose
    regions hold more than SIDE_MAJORITY times the metal volume of the other side, else
    "both"; "unknown" without metal. `spans_midline` is true only when one region reaches
    across x = L/2 (separate regions on the two sides do not span it).

    A table written before the regions were reported (no metal_region_list column) falls back
    to the top-line extent metal_top_x_range_m (all regions together) and metal_x_mean_m.
    """
    rng = json.loads(row["metal_top_x_range_m"]) if row.get("metal_top_x_range_m") else None
    xmean = row_float(row, "metal_x_mean_m")
    regions = region_list(row)
    out: dict[str, Any] = {"top_x_range_m": rng, "metal_x_mean_m": xmean}
    if regions is not None:
        volume = {"negative": 0.0, "positive": 0.0}
        channel = False
        for g in regions:
            side_g = region_side(g, length)
            if side_g == "both":
                channel = channel or (bool(g.get("touches_negative")) and bool(g.get("touches_positive")))
                for k in volume:
                    volume[k] += float(g.get("volume_m3") or 0.0) / 2
            else:
                volume[side_g] += float(g.get("volume_m3") or 0.0)
        side = "unknown"
        if channel:
            side = "both"
        elif volume["negative"] > SIDE_MAJORITY * volume["positive"]:
            side = "negative"
        elif volume["positive"] > SIDE_MAJORITY * volume["negative"]:
            side = "positive"
        elif regions:
            side = "both"
        return {
            "side": side,
            **out,
            "spans_midline": any(spans_midline(g, length) for g in regions),
            "metal_regions": len(regions),
            "metal_volume_by_side_m3": volume,
        }
    side = "unknown"
    if rng is not None and rng[1] < length / 2:
        side = "negative"
    elif rng is not None and rng[0] > length / 2:
        side = "positive"
    elif xmean is not None and abs(xmean - length / 2) > 1e-6 * length:
        side = "negative" if xmean < length / 2 else "positive"
    elif rng is not None or xmean is not None:
        side = "both"
    return {"side": side, **out, "spans_midline": bool(rng is not None and rng[0] < length / 2 < rng[1])}


def _polarity(v: float) -> str | None:
    return "+" if v > 0 else "-" if v < 0 else None


def ramps(values: list[float]) -> list[dict[str, Any]]:
    """Split the points into monotone ramps of one direction and one polarity.

    Each ramp lists its point indices; `anchor` is the point before it (the turning
    point) when that has the same polarity or is zero, so that a switch right after the
    turn is seen.
    """
    dirs = directions(values)
    out: list[dict[str, Any]] = []
    for i, (v, d) in enumerate(zip(values, dirs)):
        pol = _polarity(v)
        r = out[-1] if out else None
        if r is None or r["direction"] != d or (pol and r["polarity"] and pol != r["polarity"]):
            anchor = i - 1 if i > 0 and (_polarity(values[i - 1]) in (pol, None) or pol is None) else None
            out.append({"direction": d, "polarity": pol, "points": [i], "anchor": anchor})
        else:
            r["points"].append(i)
            r["polarity"] = r["polarity"] or pol
    return out


def _step(row_a: dict, row_b: dict, a: int, b: int, column: str, kind: str) -> dict[str, Any]:
    va, vb = row_float(row_a, column), row_float(row_b, column)
    if va is None or vb is None:
        raise ValueError(f"sweep table: no {column} value in a row that switches")
    out = {
        "kind": kind,
        "points": [a, b],
        "between": [va, vb],
        "estimate": (va + vb) / 2,
        "uncertainty": abs(vb - va) / 2,
    }
    ma, mb = row_float(row_a, "metal_fraction"), row_float(row_b, "metal_fraction")
    if ma is not None and mb is not None:
        out["metal_fraction"] = [ma, mb]
    ia, ib = row_float(row_a, "current_A"), row_float(row_b, "current_A")
    if ia is not None and ib is not None:
        out["current_A"] = [ia, ib]
    return out


def _rate(rows: list[dict[str, str]], a: int, b: int, column: str) -> float | None:
    """|change of metal fraction| per unit change of the drive between points a and b."""
    ma, mb = row_float(rows[a], "metal_fraction"), row_float(rows[b], "metal_fraction")
    va, vb = row_float(rows[a], column), row_float(rows[b], column)
    if ma is None or mb is None or va is None or vb is None or va == vb:
        return None
    return abs(mb - ma) / abs(vb - va)


def _is_jump(rates: list[float | None], k: int) -> bool:
    """Step k is a discontinuity: its rate exceeds JUMP_RATIO times each neighbour's. A step
    without a neighbour cannot be told from a smooth change and is not called a jump."""
    rk = rates[k]
    neighbours = [r for i in (k - 1, k + 1) if 0 <= i < len(rates) and (r := rates[i]) is not None]
    if rk is None or not neighbours:
        return False
    return all(rk > JUMP_RATIO * r for r in neighbours)


def ramp_switch(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A ramp's switch: metal appearing/vanishing, else its largest metal-fraction step if that
    is a jump; None when the metal fraction changes smoothly over the ramp."""
    jump = entry.get("largest_jump")
    return entry["switch"] or (jump if jump and jump.get("discontinuous") else None)


def switching_report(rows: list[dict[str, str]], column: str, length: float) -> dict[str, Any]:
    """Switches per ramp, loop width and first-metal side per polarity, from the sweep table."""
    maybe = [row_float(r, column) for r in rows]
    report: dict[str, Any] = {
        "parameter": column,
        "metal_fraction_eps": METAL_FRACTION_EPS,
        "ramps": [],
        "polarities": {},
    }
    values = [v for v in maybe if v is not None]
    if not rows or len(values) < len(maybe):
        return report
    for r in ramps(values):
        seq = ([r["anchor"]] if r["anchor"] is not None else []) + r["points"]
        seq = [i for i in seq if rows[i].get("converged") == "true"]
        entry: dict[str, Any] = {
            "direction": r["direction"],
            "polarity": r["polarity"] or "0",
            "points": r["points"],
            "from": values[r["points"][0]],
            "to": values[r["points"][-1]],
            "switch": None,
            "largest_jump": None,
        }
        sign = 1.0 if r["direction"] == "up" else -1.0
        best = None
        rates = [_rate(rows, a, b, column) for a, b in zip(seq, seq[1:])]
        for k, (a, b) in enumerate(zip(seq, seq[1:])):
            pa, pb = metal_present(rows[a]), metal_present(rows[b])
            if entry["switch"] is None and r["direction"] == "up" and not pa and pb:
                entry["switch"] = _step(rows[a], rows[b], a, b, column, "metal appears")
            if entry["switch"] is None and r["direction"] == "down" and pa and not pb:
                entry["switch"] = _step(rows[a], rows[b], a, b, column, "metal vanishes")
            ma, mb = row_float(rows[a], "metal_fraction"), row_float(rows[b], "metal_fraction")
            if ma is not None and mb is not None and (best is None or sign * (mb - ma) > best[0]):
                best = (sign * (mb - ma), a, b, k)
        if best is not None and best[0] > 0:
            entry["largest_jump"] = _step(
                rows[best[1]], rows[best[2]], best[1], best[2], column, "largest metal-fraction change"
            )
            entry["largest_jump"]["delta_metal_fraction"] = sign * best[0]
            entry["largest_jump"]["discontinuous"] = _is_jump(rates, best[3])
        report["ramps"].append(entry)
    for pol in ("+", "-"):
        mine = [e for e in report["ramps"] if e["polarity"] == pol]
        if not mine:
            continue
        summary: dict[str, Any] = {}
        up = next((e for e in mine if e["direction"] == "up"), None)
        down = next(
            (e for e in mine if e["direction"] == "down" and up is not None and e["points"][0] > up["points"][0]), None
        )
        for name, e in (("up", up), ("down", down)):
            if e is not None:
                sw = ramp_switch(e)
                summary[f"switch_{name}"] = sw["estimate"] if sw else None
                summary[f"switch_{name}_between"] = sw["between"] if sw else None
                summary[f"switch_{name}_kind"] = sw["kind"] if sw else None
        if summary.get("switch_up") is not None and summary.get("switch_down") is not None:
            summary["loop_width"] = abs(abs(summary["switch_up"]) - abs(summary["switch_down"]))
            summary["loop_width_uncertainty"] = (
                abs(summary["switch_up_between"][1] - summary["switch_up_between"][0])
                + abs(summary["switch_down_between"][1] - summary["switch_down_between"][0])
            ) / 2
        first = next(
            (
                i
                for i, (v, row) in enumerate(zip(values, rows))
                if _polarity(v) == pol and row.get("converged") == "true" and metal_present(row)
            ),
            None,
        )
        if first is not None:
            summary["first_metal"] = {"point": first, "value": values[first], **metal_side(rows[first], length)}
        report["polarities"][pol] = summary
    return report


def format_report(report: dict[str, Any]) -> str:
    """The switching report as a plain-text table."""
    col = report.get("parameter", "")
    unit = col.rsplit("_", 1)[-1] if "_" in col else ""
    lines = [
        f"switching report ({col}):",
        f"  {'polarity':<8} {'ramp':<5} {'from':>10} {'to':>10}  switch",
        "  " + "-" * 70,
    ]

    def g(v: float | None) -> str:
        return "-" if v is None else f"{v:.4g}"

    for e in report.get("ramps", []):
        sw = ramp_switch(e)
        text = (
            f"{sw['kind']} between {g(sw['between'][0])} and {g(sw['between'][1])} {unit} (~{g(sw['estimate'])})"
            if sw
            else "no switching in this range"
        )
        lines.append(f"  {e['polarity']:<8} {e['direction']:<5} {g(e['from']):>10} {g(e['to']):>10}  {text}")
    for pol, s in report.get("polarities", {}).items():
        parts = []
        if "loop_width" in s:
            parts.append(f"loop width {g(s['loop_width'])} +- {g(s['loop_width_uncertainty'])} {unit}")
        fm = s.get("first_metal")
        if fm:
            parts.append(f"metal first at point {fm['point']} ({g(fm['value'])} {unit}) on the {fm['side']} side")
        if parts:
            lines.append(f"  polarity {pol}: " + "; ".join(parts))
    return "\n".join(lines)
