# fem_peltier on top of the official DOLFINx image (its own DOLFINx, PETSc and MPI).
# Not built in CI (no Docker engine there). Build and use:
#
#   docker build -t fem-peltier .
#   docker run --rm -v "$PWD/out:/out" fem-peltier \
#       fem-peltier run --preset fig2a --out /out/fig2a
#
FROM ghcr.io/fenics/dolfinx/dolfinx:v0.11.0

WORKDIR /opt/fem_peltier
COPY pyproject.toml README.md ./
COPY fem_peltier ./fem_peltier

# Install the package only: no `fenicsx` extra, so the PyPI DOLFINx wheel never
# replaces the image's DOLFINx. gmsh's Python module is added if the image lacks it.
RUN python3 -m pip install --no-cache-dir . \
 && (python3 -c "import gmsh" 2>/dev/null || python3 -m pip install --no-cache-dir gmsh) \
 && python3 -c "import dolfinx, fem_peltier; print('DOLFINx', dolfinx.__version__, '/ fem_peltier', fem_peltier.__version__)"

RUN fem-peltier --version

WORKDIR /out
CMD ["fem-peltier", "--help"]
