# Two commands on a fresh machine: `make run` opens the browser game, `make test` runs the
# checks. Each creates the virtual environment in .venv on first use, and fetches Solara's
# front-end files once (with npm) so the game loads with no internet connection.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := $(VENV)/.assets

.PHONY: run headless assets test lint bench bench-ui bench-room bench-sweep screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12) and "Python 3.12 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# The npm packages the installed Solara's page loads, into its asset cache (needs npm once).
$(ASSETS): $(STAMP)
	$(BIN)/python -m viz.assets
	@touch $(ASSETS)

assets: $(ASSETS)

# The game on http://127.0.0.1:8765 (a workshop host: .venv/bin/minerals ui --host 0.0.0.0).
run: $(ASSETS)
	$(BIN)/minerals ui

# The default scenario played headless, its results in runs/baseline.
headless: $(STAMP)
	$(BIN)/minerals run --scenario baseline --out runs/baseline

test: $(ASSETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py

bench-ui: $(ASSETS)
	$(BIN)/python benchmarks/bench_ui.py

bench-room: $(ASSETS)
	$(BIN)/python benchmarks/bench_room.py

bench-sweep: $(STAMP)
	$(BIN)/python benchmarks/bench_sweep.py --large 50

# The pictures in docs/facilitator.md, taken by the browser test of a whole workshop.
screenshots: $(ASSETS)
	MINERALS_SCREENSHOTS=docs/img/room $(BIN)/pytest -q tests/browser/test_room_workshop.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
