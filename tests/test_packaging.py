"""Consistency of the install paths that CI cannot build: Docker image, conda environment.

There is no Docker engine and no conda in CI, so these tests read the files instead:
the Dockerfile's base image is the official DOLFINx image at the same minor version
that pyproject's `fenicsx` extra and environment.yml pin; the image and the conda
environment install fem_peltier without the `fenicsx` extra (the PyPI DOLFINx wheel
must never replace the image's or conda's DOLFINx); the README's docker and conda
lines match these files.

Catches: bumping DOLFINx in one place and not the others, a moving base tag
(`latest`, `stable`, `nightly`), a Dockerfile or environment.yml that pulls in the
PyPI wheel, and README commands that no longer work with the files they refer to.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BASE_IMAGE = "ghcr.io/fenics/dolfinx/dolfinx"


def _instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    out, buf = [], ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        buf += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            key, _, args = buf.partition(" ")
            out.append((key.upper(), args.strip()))
            buf = ""
    return out


def _environment() -> dict:
    import yaml  # comes with jupytext (the `test` extra)
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _minor(spec: str) -> tuple[int, int]:
    m = re.search(r"(\d+)\.(\d+)", spec)
    assert m, f"no version in {spec!r}"
    return int(m.group(1)), int(m.group(2))


def pinned_dolfinx_minor() -> tuple[int, int]:
    """The DOLFINx minor version of pyproject's `fenicsx` extra (e.g. >=0.11,<0.12 -> (0, 11))."""
    specs = [s for s in PYPROJECT["project"]["optional-dependencies"]["fenicsx"] if s.startswith("dolfinx")]
    assert len(specs) == 1, specs
    lower = re.search(r">=\s*(\d+\.\d+)", specs[0])
    upper = re.search(r"<\s*(\d+)\.(\d+)", specs[0])
    assert lower and upper, f"the fenicsx extra should pin one minor version: {specs[0]}"
    major, minor = _minor(lower.group(1))
    assert (int(upper.group(1)), int(upper.group(2))) == (major, minor + 1), specs[0]
    return major, minor


def test_dockerfile_base_is_the_pinned_dolfinx_release():
    froms = [args for key, args in _instructions(DOCKERFILE) if key == "FROM"]
    assert len(froms) == 1, froms
    image = froms[0].split()[0]
    m = re.fullmatch(re.escape(BASE_IMAGE) + r":v(\d+)\.(\d+)\.(\d+)(?:\.post\d+)?", image)
    assert m, f"FROM {image}: expected the official image at a full release tag, {BASE_IMAGE}:vX.Y.Z"
    assert (int(m.group(1)), int(m.group(2))) == pinned_dolfinx_minor()


def test_environment_pins_the_same_dolfinx():
    deps = [d for d in _environment()["dependencies"] if isinstance(d, str)]
    dolfinx = [d for d in deps if d.split("=")[0].split(">")[0].split("<")[0].strip() == "fenics-dolfinx"]
    assert len(dolfinx) == 1, deps
    assert _minor(dolfinx[0]) == pinned_dolfinx_minor(), dolfinx[0]
    assert re.fullmatch(r"fenics-dolfinx\s*=\s*\d+\.\d+\.\*", dolfinx[0]), f"pin one minor version: {dolfinx[0]}"


def test_environment_lists_the_stack_and_installs_the_package_without_extras():
    env = _environment()
    deps = env["dependencies"]
    names = {re.split(r"[=<>\s]", d, maxsplit=1)[0] for d in deps if isinstance(d, str)}
    for needed in ("fenics-dolfinx", "mpich", "python-gmsh", "pyvista", "meshio", "pip"):
        assert needed in names, f"environment.yml should list {needed}"
    assert "conda-forge" in env["channels"]
    pip = [d for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml should install fem_peltier with a pip: section"
    lines = pip[0]["pip"]
    installs = [ln for ln in lines if re.fullmatch(r"(-e\s+)?\.(\[.*\])?", ln.strip())]
    assert installs, f"the pip: section should install the package itself: {lines}"
    for ln in installs:
        assert "[" not in ln, f"install the package without extras in conda (no PyPI DOLFINx): {ln}"
    assert not any("dolfinx" in ln for ln in lines), lines


def test_dockerfile_installs_the_package_without_the_wheel_and_checks_the_cli():
    runs = [args for key, args in _instructions(DOCKERFILE) if key == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert installs, "the Dockerfile should pip-install the package"
    # the arguments of every `pip install` command in those RUN lines
    words = []
    for r in installs:
        for cmd in re.split(r"&&|\|\|", r):
            if "pip install" not in cmd:
                continue
            ws = shlex.split(cmd.strip("() "))
            if "install" in ws:
                words += ws[ws.index("install") + 1:]
    assert "." in words, f"expected `pip install ... .` (the package, no extras): {installs}"
    assert not any(w.startswith(".[") for w in words), f"no extras in the image: {installs}"
    assert not any("dolfinx" in w for w in words), f"the image's DOLFINx must not be replaced: {installs}"
    # the build ends by running the installed command line
    last_run = runs[-1]
    assert "fem-peltier --version" in last_run, f"the last RUN should be `fem-peltier --version`, got {last_run!r}"
    assert runs.index(last_run) > runs.index(installs[-1])
    copies = " ".join(args for key, args in _instructions(DOCKERFILE) if key == "COPY")
    for needed in ("pyproject.toml", "README.md", "fem_peltier"):
        assert needed in copies, f"the image build needs {needed}"


def test_readme_docker_lines_match_the_dockerfile():
    build = re.findall(r"^docker build (.+)$", README, flags=re.M)
    runs = re.findall(r"^docker run (.+)$", README, flags=re.M)
    assert build and runs, "README should show docker build and docker run"
    tag = re.search(r"-t\s+(\S+)", build[0]).group(1)
    image = BASE_IMAGE + ":" + re.search(re.escape(BASE_IMAGE) + r":(\S+)", DOCKERFILE).group(1)
    assert image in README, f"README should name the base image {image}"
    workdir = [args for key, args in _instructions(DOCKERFILE) if key == "WORKDIR"][-1]
    for line in runs:
        words = shlex.split(line.replace('"$PWD', '"/host'))
        assert tag in words, f"docker run should use the image built with -t {tag}: {line}"
        mounts = [words[i + 1] for i, w in enumerate(words) if w in ("-v", "--volume")]
        assert mounts, f"docker run should mount an output folder: {line}"
        target = mounts[0].split(":")[1]
        assert target == workdir, f"mount target {target} should be the image's WORKDIR {workdir}"
        cmd = words[words.index(tag) + 1:]
        assert cmd[:2] == ["fem-peltier", "run"], cmd
        out = cmd[cmd.index("--out") + 1]
        assert out.startswith(target + "/"), f"--out {out} should be inside the mounted folder {target}"
    assert re.search(r"not (be )?built in CI", README), "README should say that the image is not built in CI"


def test_readme_install_lines_match_pyproject_and_environment():
    extras = PYPROJECT["project"]["optional-dependencies"]
    for m in re.finditer(r'pip install -e "\.\[([^\]]+)\]"', README):
        for extra in m.group(1).split(","):
            assert extra in extras, f"README installs an extra that pyproject lacks: {extra}"
    assert re.search(r'pip install -e "\.\[fenicsx,viz,test\]"', README), "README should show the pip install line"
    makefile = (ROOT / "Makefile").read_text()
    assert 'extras="fenicsx,viz,test"' in makefile and 'extras="viz,test"' in makefile
    name = _environment()["name"]
    assert "conda env create -f environment.yml" in README
    assert f"conda activate {name}" in README, f"README should activate the environment's name {name}"


def test_cli_version_matches_pyproject():
    proc = subprocess.run([sys.executable, "-m", "fem_peltier", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fem-peltier", PYPROJECT["project"]["version"]]
