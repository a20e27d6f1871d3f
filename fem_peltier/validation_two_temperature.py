"""Validation of the two-temperature model (thermal.model = "two"; docs/physics.md, Two temperatures):
Eq. B5 (as derived there) for a uniform slab, the limit gamma_el -> infinity on fig2a, and the study
of a 100 nm film (fig2a scaled down), one against two temperatures. Collective (every rank calls).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .checks import Check, Level

#: slab of the Eq. B5 check: thickness (m), conductivities (W/(m K)), resistivity (Ohm m), T0 (K)
B5_H, B5_KE, B5_KL, B5_RHO, B5_T0 = 1e-5, 0.02, 0.08, 0.06, 300.0
#: alpha h of the B5 check and the vertical cells per case (the electrons' layer at the sink resolved)
B5_CASES: dict[str, tuple[tuple[float, int], ...]] = {
    "quick": ((1.0, 50), (10.0, 100)),
    "full": ((1.0, 50), (10.0, 100), (100.0, 400)),
}
#: the split of fig2a's kappa = 0.1 W/(m K) and the paper's coupling (Appendix B: 1e7 W/(cm^3 K))
TWO = ("thermal.model=two", "material.kappa_electron=0.01", "material.kappa_lattice=0.09")
GAMMA_PAPER = 1e13
COARSE = ("mesh.size=2e-4", "mesh.electrode_size=5e-5", "solver.linear_solver=mumps")
#: fig2a scaled by 5e-4 to a 100 nm film (the same J = 0.2 and P = 0.2)
SCALE = 5e-4
STUDY_GAMMAS: dict[str, tuple[float, ...]] = {"quick": (1e13,), "full": (1e13, 1e14, 1e15)}


def b5_slab(alpha_h: float, nz: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Solve the Eq. B5 slab (a thin box, end electrodes, a 10 K one-temperature rise); returns the
    z of the temperature dofs, T_l, T_e, the closed form at those z, the summary and the rise."""
    import fem_peltier as fp

    from .boxmesh import box_film_mesh
    from .closed_forms import eq_b5_slab
    from .continuation import solve
    from .coupled import CoupledProblem
    from .diagnostics import summary_quantities
    from .fields import EXCESS, TEMPERATURE

    h, ke, kl = B5_H, B5_KE, B5_KL
    gamma = (alpha_h / h) ** 2 * ke * kl / (ke + kl)
    j = math.sqrt(20 * (ke + kl) / (B5_RHO * h**2))
    side = h / 10  # lateral cells not much wider than the layers: little tilt of the P1 solution
    cfg = fp.load_config(
        overrides={
            "geometry.length": side,
            "geometry.width": side,
            "geometry.thickness": h,
            "geometry.electrodes": "ends",
            "material.rho_insulator": B5_RHO,
            "material.t_mit": 2000.0,
            "material.seebeck_insulator": 0.0,
            "material.kappa_electron": ke,
            "material.kappa_lattice": kl,
            "material.electron_lattice_coupling": gamma,
            "thermal.model": "two",
            "thermal.t0": B5_T0,
            "drive.current": j * side * h,
            "solver.initial_width": 3.0,
            "solver.transition_width": 3.0,
            "solver.linear_solver": "mumps",
            **(extra or {}),
        }
    )
    p = CoupledProblem(cfg, box_film_mesh(cfg, (2, 2, nz)))
    rep = solve(p)
    T_l = p.unknowns.values(TEMPERATURE).copy()
    z = p.unknowns[TEMPERATURE].space.tabulate_dof_coordinates()[: T_l.size, 2]
    T_e = T_l + p.unknowns.values(EXCESS)
    q = B5_RHO * j**2
    ex_l, ex_e = eq_b5_slab(z, h, q, ke, kl, gamma, B5_T0)
    return {
        "converged": rep.converged, "z": z, "T_l": T_l, "T_e": T_e, "exact_l": ex_l, "exact_e": ex_e,
        "summary": summary_quantities(p), "rise": q * h**2 / (2 * (ke + kl)), "h": h,
    }  # fmt: skip


def level_means(z: np.ndarray, values: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(z levels, the mean of `values` at each): the 1D solution of a thin box, free of the O(dz)
    lateral tilt the tetrahedra give the P1 solution."""
    levels = np.unique(np.round(z / h, 9))
    return levels * h, np.array([values[np.abs(z / h - zz) < 1e-7].mean() for zz in levels])


def _run(overrides: list[str]) -> dict[str, Any]:
    import fem_peltier as fp

    t = time.perf_counter()
    res = fp.run(fp.load_config(preset="fig2a", overrides=overrides), pictures=False)
    s = dict(res.summary)
    s["wall_s"] = time.perf_counter() - t
    return s


def check_two_temperature(level: Level = "full") -> Check:
    """Eq. B5 rows, the gamma -> infinity rows and the 100 nm study (reported rows)."""
    t_start = time.perf_counter()
    ch = Check("two_temperature", "Two temperatures: Eq. B5, the limit gamma -> infinity, a 100 nm film")
    ch.text = (
        "Eq. B5 as derived in docs/physics.md (Two temperatures; the printed B5 has a prefactor in K/m and "
        "lacks kappa_e/kappa_l): a slab of thickness 10 um, kappa_e = 0.02, kappa_l = 0.08 W/(m K), a uniform "
        "current giving a 10 K one-temperature rise, lattice held at T0 and electrons adiabatic at the sink. "
        "Errors are the largest over the z levels of the lateral mean (a thin box of tetrahedra tilts the P1 "
        "solution laterally by O(dz)), in units of the rise. The limit: fig2a on the coarse test mesh with "
        "gamma_el = 1e16 W/(m^3 K) against the one-temperature model. The study: fig2a scaled by 5e-4 to a "
        "100 nm film (L = W = 500 nm, 10 nm x 50 nm contacts, I = 5 uA: the same J = 0.2 and P = 0.2), "
        "kappa_e = 0.01, kappa_l = 0.09 W/(m K), gamma_el = 1e13 W/(m^3 K) (the paper's estimate; "
        "sqrt(kappa_e kappa_l / (gamma kappa)) = 30 nm, alpha h = 3.3) and larger, solver.t_ceiling = 2e4 K."
    )
    data: dict[str, Any] = {"b5": [], "limit": {}, "study": {}}
    for alpha_h, nz in B5_CASES[level]:
        r = b5_slab(alpha_h, nz)
        rise = r["rise"]
        zl, Tl = level_means(r["z"], r["T_l"], r["h"])
        _, Te = level_means(r["z"], r["T_e"], r["h"])
        _, exl = level_means(r["z"], r["exact_l"], r["h"])
        _, exe = level_means(r["z"], r["exact_e"], r["h"])
        err_l = float(np.max(np.abs(Tl - exl)) / rise)
        err_e = float(np.max(np.abs(Te - exe)) / rise)
        tag = f"alpha h = {alpha_h:g} ({nz} layers)"
        ch.compare(f"{tag}: max |T_l - B5| / rise", err_l, 0.0, 5e-5)
        ch.compare(f"{tag}: max |T_e - B5| / rise", err_e, 0.0, 3e-4)
        top = zl.argmax()
        correction = (Tl[top] - B5_T0 - rise) / rise  # beyond the one-temperature parabola
        ch.compare(f"{tag}: T_l(h) above the parabola / rise", correction, (exl[top] - B5_T0 - rise) / rise, 2e-4)
        s = r["summary"]
        ch.compare(f"{tag}: heat_exchange / heat_joule", s["heat_exchange_W"] / s["heat_joule_W"], 1.0, 1e-9, "rel")
        data["b5"].append({"alpha_h": alpha_h, "nz": nz, "err_l": err_l, "err_e": err_e, "correction": correction})
    one = _run(list(COARSE))
    two = _run([*COARSE, *TWO, "material.electron_lattice_coupling=1e16"])
    for key in ("voltage_V", "T_max_K", "metal_fraction"):
        ch.compare(f"gamma_el = 1e16: {key}, two vs one temperature", two[key], one[key], 1e-4, "rel")
    data["limit"] = {"one": _pick(one), "two": _pick(two)}
    s = SCALE
    scaled = [
        f"geometry.length={1e-3 * s}", f"geometry.width={1e-3 * s}", f"geometry.thickness={2e-4 * s}",
        f"drive.current={1e-2 * s}", f"mesh.size={5e-5 * s}", "solver.linear_solver=mumps", "solver.t_ceiling=20000",
    ]  # fmt: skip
    cases = {"one temperature": scaled}
    for gamma in STUDY_GAMMAS[level]:
        cases[f"two, gamma_el = {gamma:.0e}"] = [*scaled, *TWO, f"material.electron_lattice_coupling={gamma}"]
    cases[f"two, gamma_el = {GAMMA_PAPER:.0e}, electrons switch"] = [
        *scaled, *TWO, f"material.electron_lattice_coupling={GAMMA_PAPER}", "material.phase_temperature=electron"
    ]  # fmt: skip
    for label, ov in cases.items():
        r = _run(ov)
        data["study"][label] = _pick(r)
        for key in ("voltage_V", "T_max_K", "T_electron_max_K", "metal_fraction", "metal_max_depth_m"):
            if r.get(key) is not None:
                scale, name = (1e-9, "metal_max_depth_nm") if key.endswith("_m") else (1.0, key)
                ch.info(f"100 nm, {label}: {name}", r[key] / scale, note="" if r["converged"] else "not converged")
    ch.text += " " + study_conclusion(data["study"])
    ch.data = data
    ch.wall_s = time.perf_counter() - t_start
    return ch


def study_conclusion(study: dict[str, dict[str, Any]]) -> str:
    """Where one and two temperatures differ on the 100 nm film, and by how much (computed)."""
    one = study["one temperature"]
    parts = []
    for label, r in study.items():
        if label == "one temperature" or not r["converged"]:
            continue
        parts.append(
            f"{label}: lattice peak {r['T_max_K'] - one['T_max_K']:+.0f} K, electrons {r['T_electron_max_K']:.0f} K "
            f"at the contacts, V {100 * (r['voltage_V'] / one['voltage_V'] - 1):+.1f}%, metal fraction "
            f"{100 * (r['metal_fraction'] / one['metal_fraction'] - 1):+.0f}%"
        )
    failed = [label for label, r in study.items() if not r["converged"]]
    tail = f" Not converged: {', '.join(failed)}." if failed else ""
    return (
        f"Against one temperature (T_max {one['T_max_K']:.0f} K, V {one['voltage_V']:.4g} V, metal fraction "
        f"{one['metal_fraction']:.4f}): " + "; ".join(parts) + ". The heat is made in the electrons at the 10 nm "
        "contacts, within an electron-lattice length of them, so the electrons there run far hotter than the "
        "lattice while the lattice peak (what switches the phase) is lower and spread out; the gap closes as "
        "gamma_el grows (the one-temperature model is its limit)." + tail
    )


def _pick(s: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "converged", "reason", "iterations", "cells", "voltage_V", "T_max_K", "T_electron_max_K", "T_lattice_max_K",
        "metal_fraction", "metal_reach_negative_m", "metal_reach_positive_m", "metal_max_depth_m", "heat_exchange_W",
        "heat_joule_W", "heat_balance_rel", "time_per_newton_step_s", "wall_s",
    )  # fmt: skip
    return {k: s.get(k) for k in keys}
