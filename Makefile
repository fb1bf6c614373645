# Persona Lens. `make run` starts the app for one analyst (this machine only); `make team`
# starts it for a team (sign-in, owners, shares; see the README); `make test` runs every
# test, browser ones included.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
PORT ?= 8501
# Team mode listens on every interface unless told otherwise (behind an HTTPS proxy, set
# ADDRESS=127.0.0.1 and let the proxy reach it).
ADDRESS ?= 0.0.0.0
# Root installs directly; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: setup run team test test-fast bench lint chromium java clean

setup: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# Local mode: only this machine can reach the app (127.0.0.1), nobody signs in.
run: setup
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address 127.0.0.1

# Team mode: sign-in through the OpenID Connect provider in .streamlit/secrets.toml.
team: setup
	@[ -f .streamlit/secrets.toml ] || { echo "Team mode needs .streamlit/secrets.toml: copy .streamlit/secrets.example.toml and fill in your provider (README, Team mode)."; exit 2; }
	PERSONA_LENS_MODE=team $(PY) -m streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

chromium:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else $(SUDO) apt-get update -q && \
	     DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; fi

# Spark (python -m core ... --engine spark) runs on a Java runtime, 17 or newer.
java:
	@if command -v java >/dev/null 2>&1; then echo "java: $$(java -version 2>&1 | head -n 1)"; \
	else $(SUDO) apt-get update -q && \
	     DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q default-jre-headless; fi

# The browser tests spend most of their time waiting on the app and Chromium, so they
# run in a second process beside the others (one core each), with the few long tests
# marked beside_browser, so that both take about as long; their report is printed when
# both are done, and both must pass.
test: setup chromium java
	@$(PY) -m pytest -m "browser or beside_browser" --durations=15 > .browser-tests.log 2>&1 & browser=$$!; \
	$(PY) -m pytest -m "not browser and not beside_browser" --durations=15; others=$$?; \
	wait $$browser; browser_status=$$?; \
	echo "---- browser tests ----"; cat .browser-tests.log; \
	exit $$(( others || browser_status ))

test-fast: setup java
	$(PY) -m pytest -m "not browser"

bench: setup chromium java
	$(PY) -m bench.run_bench
	$(PY) -m bench.bench_spark
	$(PY) -m bench.bench_experiments
	$(PY) -m bench.bench_rules
	$(PY) -m bench.bench_segmentation
	$(PY) -m bench.bench_maps
	$(PY) -m bench.bench_journeys
	$(PY) -m bench.bench_predict
	$(PY) -m bench.bench_recommend
	$(PY) -m bench.bench_workspace
	$(PY) -m bench.bench_app

lint: setup
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/browser/artifacts bench/data .browser-tests.log
