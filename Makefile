# Two set-up commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test bench bench-live bench-presets bench-sweep bench-backtest bench-visitors screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.req: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.req-dev: requirements.txt requirements-dev.txt $(VENV)/.req
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.req
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: $(VENV)/.req-dev
	$(PY) -m pytest

bench: $(VENV)/.req
	$(PY) bench/overhead.py
	$(PY) bench/windowing.py
	$(PY) bench/gates.py

bench-live: $(VENV)/.req-dev  # the real app in Chromium against a plain Keras script: about 20 minutes
	$(PY) bench/live.py

bench-visitors: $(VENV)/.req-dev  # 4 visitors click Train at once, pool sized for a 2.7 GB container: peak PSS; about 10 minutes
	$(PY) bench/visitors.py

bench-sweep: $(VENV)/.req  # 12 small trials with 1 and 2 workers, and Optuna's own cost: about 3 minutes
	$(PY) bench/sweep.py

bench-backtest: $(VENV)/.req  # a 4-fold backtest of the default spec against 4 sequential runs: about 10 minutes
	$(PY) bench/backtest.py

bench-presets: $(VENV)/.req  # every preset in full: about 20 minutes on 2 cores
	$(PY) bench/presets.py --unscaled

screenshots: $(VENV)/.req-dev  # docs/images/*.png from the real app in Chromium (trains the default run): about 2 minutes
	$(PY) bench/screenshots.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache
