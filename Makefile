# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: demo test install sysdeps browser bench lint clean docs

demo: install
	$(VENV)/bin/insertion-planner demo --out $(OUT) --force

test: install browser
	$(PY) -m pytest -q

install: sysdeps $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[viz,test]"
	@touch $(STAMP)

# open3d needs the system library libusb-1.0.
sysdeps:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing libusb-1.0 (needed by open3d)"; \
	    (apt-get install -y -q libusb-1.0-0 >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && apt-get install -y -q libusb-1.0-0 >/dev/null)); \
	  else \
	    echo "open3d needs libusb-1.0: run 'sudo apt-get install -y libusb-1.0-0' and try again." >&2; exit 1; \
	  fi; \
	fi

# The report test renders report.html in a real headless Chromium.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Chromium (headless browser for the report test)"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); \
	  else \
	    echo "Chromium is missing: the report's browser test will be skipped (sudo apt-get install -y chromium)." >&2; \
	  fi; \
	fi

bench: install
	$(PY) benchmarks/run_all.py

# Reference documentation from the docstrings (warnings are errors, as in the test).
docs: install
	$(PY) -m sphinx -W --keep-going -q -b html docs/reference docs/_build/html

lint: install
	$(PY) -m pip install -q -e ".[viz,test,dev]"
	$(VENV)/bin/ruff check insertion_planner tests benchmarks notebooks
	$(VENV)/bin/ruff format --check insertion_planner tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info
