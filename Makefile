VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test browser-deps install lint bench bench-peers drills clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tideway run

# tests/browser drives Debian's chromium through chromium-driver (nothing downloads a browser):
# installed here when missing and we are root with apt. Never fatal: without it that test skips.
browser-deps:
	@if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium + chromium-driver with apt-get (browser test)"; \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
	    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }; \
	  } >/dev/null 2>&1 || echo "apt-get could not install chromium: the browser test will be skipped"; \
	fi

test: $(STAMP) browser-deps
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -rs tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy api worker workflows activities schemas language core cli

bench: $(STAMP)
	$(PY) bench/language_bench.py
	$(PY) bench/run_all.py

bench-peers: $(STAMP)
	$(PY) bench/peers.py install

drills: $(STAMP)
	TIDEWAY_DRILLS=full $(PY) -m pytest -q -rs tests/drills

clean:
	rm -rf $(VENV) .data
