# Two commands for readers and CI (README.md): `make lab` and `make test`.
# Both install everything into .venv first; a second run reinstalls only when pyproject.toml changed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.book_kit-installed
# Extra arguments: make lab LAB_ARGS="--port 9999"; make test PYTEST_ARGS="-k backends"
LAB_ARGS ?=
# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=
# The reader's working copies of chapters/ and notebooks/ (book-kit workspace)
WORK ?= my-work
# The browser test drives Debian's Chromium (tests/test_browser.py); `make test` installs it when
# missing, with apt-get (as root, or through sudo). Playwright only drives it: no browser download.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: install lab test quick lint bench chromium site cluster-tools

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[all,dev,site]"
	@# nbgrader is here for its round-trip test (tests/test_nbgrader.py); its JupyterLab panels are
	@# for a course's JupyterHub, not a reader's lab: off in this environment.
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
	for e in formgrader validate_assignment assignment_list course_list; do \
	  $(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$e \
	    >/dev/null 2>&1 || exit 1; done
	@# Kernels of this environment keep C-level log lines (TensorFlow's start-up) out of cells
	$(BIN)/python -c "from book_kit.notebook import quiet; quiet.install_quiet_kernels()"
	touch $@

# OMP_WAIT_POLICY: PyTorch's idle threads sleep instead of spinning, so a notebook does not slow
# to a crawl while the laptop does something else (book_kit/notebook/runner.py thread_settings).
# Readers work in copies (WORK, git-ignored), so running a chapter never changes the book's.
# JupyterLab's "get notified about official Jupyter news?" pop-up is answered "no" in this
# environment's JupyterLab (its overrides.json; the user's own settings stay as they are).
lab: $(STAMP)
	$(BIN)/book-kit workspace --dir $(WORK)
	$(BIN)/python -c "from book_kit.publishing import workspace; workspace.lab_settings()"
	OMP_WAIT_POLICY=PASSIVE $(BIN)/jupyter lab --ServerApp.root_dir=$(WORK) --LabApp.default_url=/lab/tree/chapters $(ROOT_ARGS) $(LAB_ARGS)

chromium: $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "Install Chromium (the browser test needs it), or \
	point CHROMIUM=/path/to/chromium at one: this system has no apt-get."; exit 1; }
	$(APT) install -y --quiet chromium chromium-driver || \
	  { $(APT) update --quiet && $(APT) install -y --quiet chromium chromium-driver; }

# The cluster recipes' test (tests/test_cluster.py) starts a one-node Slurm cluster of its own and
# runs GNU parallel: Debian's slurm-wlm, munge and parallel. `make test` installs them when missing,
# as root only; without them those tests are skipped and say why. The test starts daemons of its
# own (its own munge key and socket, ports on 127.0.0.1) and never uses a system munged or slurmd.
CLUSTER_TOOLS := /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/sbin/munged /usr/bin/parallel

cluster-tools:
	@for f in $(CLUSTER_TOOLS); do [ -x $$f ] || missing="$$missing $$f"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "Missing:$$missing. Not root, or no apt-get: not installing slurm-wlm, munge and parallel;" \
	    "tests/test_cluster.py will be skipped."; exit 0; fi; \
	echo "Installing Debian's slurm-wlm, munge and parallel (tests/test_cluster.py)"; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --quiet slurm-wlm munge parallel || \
	  { DEBIAN_FRONTEND=noninteractive apt-get update --quiet && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --quiet slurm-wlm munge parallel; }

# ruff (pyflakes, pycodestyle at 100 columns, import order: [tool.ruff] in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check book_kit tests benchmarks

test: $(STAMP) $(CHROMIUM) cluster-tools lint
	BOOK_KIT_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The development loop: everything but notebook runs, training and the browser.
quick: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

# The companion website from the executed chapters (nothing re-runs): build/site/index.html
site: $(STAMP)
	$(BIN)/book-kit site --out build/site

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
