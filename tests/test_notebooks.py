"""The notebooks in notebooks/ execute headless and produce their pictures.

Each jupytext `.py` notebook is converted to an .ipynb in memory (jupytext) and
executed cell by cell in a fresh Python kernel (nbclient), with its working directory
set to notebooks/ as Jupyter would, its outputs redirected to a temporary folder
(FEM_PELTIER_NB_OUT, FEM_PELTIER_FIGURES) and PyVista rendering off-screen.

Catches: a notebook that no longer runs against the package (renamed fields, API or
CLI changes, a sweep directory layout it cannot read), a cell that needs a display,
and pictures that are missing, empty or blank (a renderer that silently draws
nothing produces a uniform image).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"

# notebook -> the PNGs it must write
EXPECTED = {
    "01_quickstart.py": ["slice_T.png", "metal_threshold.png", "clip_electrode.png", "streamlines_j.png",
                         "interface_peltier.png"],
    "02_polarity.py": ["polarity_3d.png", "polarity_mirror.png"],
    "03_sweeps.py": ["metal_vs_current.png", "sweep_summary.png"],
    "04_transient.py": ["transient_series.png", "transient_frames.png"],
}


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED)


def assert_nontrivial_png(path: Path) -> None:
    from PIL import Image
    import numpy as np

    assert path.is_file(), f"{path.name} was not written"
    assert path.stat().st_size > 10_000, f"{path.name} is suspiciously small ({path.stat().st_size} bytes)"
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.width >= 400 and im.height >= 300, f"{path.name}: {im.size}"
        rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    # not blank: many colours, and a good share of pixels differ from the background
    colours = np.unique(rgb.reshape(-1, 3), axis=0).shape[0]
    assert colours > 64, f"{path.name} has only {colours} colours"
    corner = rgb[2, 2]
    drawn = np.mean(np.any(np.abs(rgb - corner) > 16, axis=-1))
    assert drawn > 0.03, f"{path.name}: only {drawn:.1%} of the pixels differ from the background"


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.timeout(600)
def test_notebook_executes(name, tmp_path, monkeypatch):
    import jupytext  # the `test` extra; a missing one is a failure, not a skip
    import nbclient
    import nbformat

    figures = tmp_path / "figures"
    monkeypatch.setenv("FEM_PELTIER_NB_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("FEM_PELTIER_FIGURES", str(figures))
    monkeypatch.delenv("FEM_PELTIER_SWEEP_DIR", raising=False)
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    monkeypatch.setenv("PYVISTA_OFF_SCREEN", "true")
    monkeypatch.delenv("DISPLAY", raising=False)

    nb = jupytext.read(NB_DIR / name)
    assert any(c.cell_type == "markdown" for c in nb.cells), "a notebook should explain itself"
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    t = time.perf_counter()
    try:
        client.execute()
    finally:  # keep the executed notebook for inspection when a cell fails
        nbformat.write(nb, str(tmp_path / (Path(name).stem + ".ipynb")))
    print(f"{name}: executed in {time.perf_counter() - t:.1f} s")

    for png in EXPECTED[name]:
        assert_nontrivial_png(figures / png)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
