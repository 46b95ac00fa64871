VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench bench-peers drills clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tideway run

test: $(STAMP)
	$(PY) -m pytest -q -rs tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy api worker workflows activities schemas core cli

bench: $(STAMP)
	$(PY) bench/language_bench.py
	$(PY) bench/run_all.py

bench-peers: $(STAMP)
	$(PY) bench/peers.py install

drills: $(STAMP)
	TIDEWAY_DRILLS=full $(PY) -m pytest -q -rs tests/drills

clean:
	rm -rf $(VENV) .data
