# Amayesh — the two commands a new user needs are `make demo` and `make test`.
VENV     ?= .venv
PYTHON   ?= python3
DATA_DIR ?= ../shared/data/iran
STORE    ?= var/amayesh.gpkg
BIN      := $(VENV)/bin

.PHONY: install demo build-demo serve test test-fast test-postgis lint clean

# Python keeps its compiled modules (and pytest its rewritten test modules) between runs even
# where the environment says not to: that saves each test worker about 5 s of start-up.
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The map pages' front-end assets (Leaflet, VectorGrid, supercluster, Vazirmatn) from npm,
# served by the service itself: no page loads anything from a CDN.
maps/web/node_modules/.installed: maps/web/package.json maps/web/package-lock.json
	cd maps/web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed maps/web/node_modules/.installed

build-demo: install
	$(BIN)/amayesh --data-dir $(DATA_DIR) --store $(STORE) build-demo

serve: install
	$(BIN)/amayesh --store $(STORE) serve

demo: build-demo serve

# Everything: the national demo (reference data), PostGIS (AMAYESH_TEST_DATABASE_URL) and the
# browser tests (Debian's chromium), on TEST_WORKERS processes (pytest-xdist: the national demo is
# built once per run and copied to each worker; each gets its own PostGIS database); the slowest
# tests are listed at the end.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=15

# The fast set: the embedded store only (no database server), no national demo, no browser, no
# slow fuzzing, no benches (the small hand-built store instead), no killing of the service's own
# processes and no servers of several processes; property tests draw a quarter of their examples
# and the contract walks two roles (AMAYESH_TEST_SAMPLE).
FAST := not realdata and not browser and not slow and not processes and not bench
test-fast: install
	AMAYESH_TEST_SAMPLE=1 $(BIN)/python -m pytest -m "$(FAST) and not postgis" \
		-n 2 --dist worksteal --durations=15

# The same on the PostGIS store: the fast set's PostGIS variants (AMAYESH_TEST_DATABASE_URL).
test-postgis: install
	AMAYESH_TEST_SAMPLE=1 $(BIN)/python -m pytest -m "$(FAST) and postgis" \
		-n 2 --dist worksteal --durations=15

lint: install
	$(BIN)/ruff check geo store services api cli demo maps exchange tests bench
	$(BIN)/ruff format --check geo store services api cli demo maps exchange tests bench
	$(BIN)/mypy

clean:
	rm -rf var data/shapefiles/*.shp data/shapefiles/*.shx data/shapefiles/*.dbf \
	       data/shapefiles/*.prj data/shapefiles/*.cpg
