"""The sweep report calls a switch only where the state jumps (issue 15, item 6).

fig2a from 2 to 10 mA grows its metal fraction smoothly (0.0017, 0.011, 0.027, 0.053, 0.099
with metal present at every point): the report used to call the largest of those steps a
switch. Now a step is a switch when metal appears or vanishes, or when its rate of change
of the metal fraction per unit drive exceeds sweep_report.JUMP_RATIO times each neighbour's.
"""

from __future__ import annotations

import json

from fem_peltier import sweep


def _rows(currents, fractions):
    return [{"point": str(i), "direction": "up", "current_set_A": repr(c), "current_A": repr(c),
             "voltage_V": "2.0", "metal_fraction": repr(m), "converged": "true",
             "metal_max_depth_m": repr(1e-5 if m > 0 else 0.0),
             "metal_top_x_range_m": json.dumps([0.0, 1e-4]) if m > 0 else "", "run_dir": f"p{i}"}
            for i, (c, m) in enumerate(zip(currents, fractions))]


def test_smooth_growth_is_not_a_switch():
    rows = _rows([0.002, 0.004, 0.006, 0.008, 0.010], [0.0017, 0.011, 0.027, 0.053, 0.099])
    rep = sweep.switching_report(rows, "current_set_A", 1e-3)
    (ramp,) = rep["ramps"]
    assert ramp["switch"] is None and ramp["largest_jump"]["discontinuous"] is False
    assert rep["polarities"]["+"]["switch_up"] is None
    assert "no switching in this range" in sweep.format_report(rep)


def test_a_jump_is_a_switch():
    rows = _rows([0.002, 0.004, 0.006, 0.008, 0.010], [0.010, 0.012, 0.015, 0.35, 0.37])
    rep = sweep.switching_report(rows, "current_set_A", 1e-3)
    pos = rep["polarities"]["+"]
    assert pos["switch_up_between"] == [0.006, 0.008] and pos["switch_up_kind"] == "largest metal-fraction change"
    assert "between 0.006 and 0.008" in sweep.format_report(rep)
