# Rectifiers under stress. `make reproduce` runs the whole chain: environment, training,
# aggregation, figures, tables and numbers, PDF. Each step is a rule with real prerequisites.
# A bare `make` lists the targets (`make help`): a target's `## ` comment is its line there.
.DEFAULT_GOAL := help
PROFILE ?= cpu
ifeq ($(PROFILE),smoke)
DATA ?=
else
DATA ?= data.source=torchvision data.download=true
endif
JOBS ?= $(shell nproc)
VENV ?= .venv
PY := $(VENV)/bin/python
# The studies make train trains, in this order (STUDIES=lr on the command line: that one only).
STUDIES := calibration resnet_pilot lr batch_size depth init_bias resnet plain_long resnet_trained
# A reproduction (docs/design.md section 9) is built in reproductions/$(REPRO)/, a tree with the
# committed tree's layout; `make reproduce` sets REPRO, which is empty for the committed tree
# (the committed data and records of results/$(PROFILE)/). FRESH=1 retrains the committed
# configurations there; SAMPLE=k trains k seeds of every cell, SAMPLE_TRAINED=j (default k, 0 for
# none) those of the trained ResNet, SAMPLE_TUNED=j (default k, 0 for none) the tuned study's
# selection and comparison seeds.
REPRO ?=
FRESH ?=
SAMPLE ?=
SAMPLE_TRAINED ?= $(SAMPLE)
SAMPLE_TUNED ?= $(SAMPLE)
TREE := $(if $(REPRO),reproductions/$(REPRO)/)
SAMPLING := $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(SAMPLE_TRAINED),--sample-trained $(SAMPLE_TRAINED))
RESULTS := $(TREE)results/$(PROFILE)
RESULT_FILES := $(RESULTS)/runs.csv $(RESULTS)/epochs.csv $(RESULTS)/layers.csv $(RESULTS)/study.json \
  $(RESULTS)/calibration.csv $(RESULTS)/tuned.csv
FIGS := activations stress_accuracy stress_dead dynamics layer_heatmap revival prelu_slopes resnet budget power practitioner tuning mechanism
FIG_DIR := $(TREE)figures
FIG_PDFS := $(FIGS:%=$(FIG_DIR)/%.pdf)
GEN := $(TREE)paper/generated
TABLES := $(patsubst scripts/%.py,$(GEN)/%.tex,$(wildcard scripts/table_*.py)) $(GEN)/numbers.tex
PAPER_SRC := $(wildcard paper/*.tex paper/sections/*.tex) paper/refs.bib
PDF := $(TREE)paper/main.pdf
# The code figures, tables and numbers are drawn with: the package's folders without torch (the
# root vocabulary, experiment/, analysis/, render/; docs/design.md, the map), and the claim constants
# with the stress levels they read.
STYLE := $(wildcard src/rectifiers/*.py src/rectifiers/experiment/*.py src/rectifiers/analysis/*.py \
  src/rectifiers/render/*.py) conf/claims.yaml conf/levels.yaml
# What the claim rules read (the calibration, stability and power).
CLAIM_CODE := $(addprefix src/rectifiers/analysis/,claims.py comparisons.py claim_text.py stats.py rules.py tidy.py bars.py) \
  src/rectifiers/studies.py conf/claims.yaml conf/levels.yaml
CLAIMS_CAL := $(RESULTS)/claims_calibration.csv
# written with it: claim 3's calibrated level (conf/claims.yaml, sensitivity) and what makes each missed bar
CAL_SIDE := $(RESULTS)/claim3_level.csv $(RESULTS)/claims_calibration_drivers.csv
STABILITY := $(RESULTS)/stability.csv
POWER := $(RESULTS)/power.csv
TEX_PACKAGES := latexmk texlive-latex-extra texlive-science lmodern poppler-utils
export SOURCE_DATE_EPOCH := 1700000000
export FORCE_SOURCE_DATE := 1
export PYTHONHASHSEED := 0

.PHONY: help stability power reproduce chain env tex train results calibrate figures tables paper readme compare test smoke bench plan clean

help:  ## these lines; PROFILE=cpu|smoke|full, DATA, FRESH, SAMPLE: README.md
	@echo "make TARGET (what it costs: on 2 CPU cores):"
	@awk '/^[a-z][a-z_-]*:.*## /  { t = $$0; sub(/:.*/, "", t); c = $$0; sub(/^[^#]*## /, "", c); printf "  %-10s %s\n", t, c; next } \
	     /^ +## / { c = $$0; sub(/^ +## /, "", c); printf "  %-10s %s\n", "", c }' $(firstword $(MAKEFILE_LIST))

LOCATE = $(PY) scripts/compare.py locate --profile $(PROFILE) $(if $(FRESH),--fresh) $(SAMPLING) $(if $(REPRO),--name $(REPRO)) $(DATA)
# make -n runs a recipe line that names $(MAKE), and locating checks (downloads) the data and claims a
# folder: under -n (n in MAKEFLAGS' first word) this recipe only says what it would run.
DRY_RUN = $(findstring n,$(firstword -$(MAKEFLAGS)))
reproduce: env  ## everything: where it builds (the committed tree or reproductions/<name>/), then the chain;
               ## hours to days of training: make plan says how long, with the same variables
	@$(if $(DRY_RUN),echo "$(LOCATE)"; echo "$(MAKE) chain REPRO=<the folder it printed>"; exit 0;) \
	repro=$$($(LOCATE)) || exit 1; \
	$(HAVE_TEX) || { echo "make reproduce: the chain ends with the PDF. $(NO_TEX)"; exit 1; }; \
	$(MAKE) --no-print-directory -o $(VENV)/.installed chain REPRO=$$repro  # env is made: not again

chain: train results calibrate figures tables paper $(if $(REPRO),compare,readme)
.NOTPARALLEL: chain  # in order, also under -j: a failed training stops the chain before aggregation

env: $(VENV)/.installed  ## .venv/ with the pinned packages of pyproject.toml (minutes, once)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

# The package and the test extra of pyproject.toml (pytest, pytest-xdist, pypdf, cffconvert, statsmodels,
# ruff), in one pip pass: on a fresh clone a second pass would resolve every package again.
$(VENV)/.installed-test: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[test]"
	touch $(VENV)/.installed $@

# Only `make tex` installs system packages; `make paper` without TeX says what to run and stops.
TEX_INSTALL := apt-get install -y --no-install-recommends $(TEX_PACKAGES)
HAVE_TEX := command -v latexmk >/dev/null && command -v pdflatex >/dev/null
NO_TEX := LaTeX is missing. Install it: make tex (as root), or: sudo $(TEX_INSTALL)

tex:  ## installs TeX Live (latexmk, pdflatex, pdftotext) with apt-get as root on Debian; minutes, once
	@$(HAVE_TEX) && command -v pdftotext >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -q && $(TEX_INSTALL); \
	  else echo "make tex: run as root on Debian or Ubuntu, or: sudo $(TEX_INSTALL)"; exit 1; fi; }

train: env  ## resumable: runs with a record in results/<profile>/runs/ are skipped; new records go there.
           ## Each sweep checks its jobs and the data before it starts any, and fails if a run failed.
           ## One thread per run (runtime.threads=1): a rerun on the same kind of CPU is bit-identical.
           ## Most of make reproduce's hours: make plan says how long
	for s in $(STUDIES); do \
	  case $$s in resnet_*) k="$(SAMPLE_TRAINED)";; *) k="$(SAMPLE)";; esac; \
	  if [ "$$k" = 0 ]; then echo "$$s: not trained (SAMPLE_TRAINED=0)"; continue; fi; \
	  $(PY) scripts/train.py -m +study=$$s profile=$(PROFILE) $(DATA) $${k:+profile.seeds=$$k} \
	    runtime.threads=1 runtime.progress=false runtime.record_dir=$(RESULTS)/runs $(if $(REPRO),runs_dir=$(TREE)train) \
	    hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS) || exit 1; done
	@if [ "$(SAMPLE_TUNED)" = 0 ]; then echo "tuned: not trained (SAMPLE_TUNED=0)"; else \
	  $(PY) scripts/tune.py --profile $(PROFILE) --records $(RESULTS)/runs --jobs $(JOBS) $(DATA) \
	    $(if $(REPRO),runs_dir=$(TREE)train) $(if $(SAMPLE_TUNED),profile.tuned.selection_seeds=$(SAMPLE_TUNED) \
	    profile.tuned.comparison_seeds=$(SAMPLE_TUNED)); fi

results: env  ## results/<profile>/*.csv and study.json from the records alone, rewritten only when their content
             ## changes; never with fewer runs or other data unless FORCE=1
	$(PY) scripts/aggregate.py --profile $(PROFILE) --out $(TREE)results $(if $(FORCE),--force) $(DATA) \
	  $(if $(SAMPLE),profile.seeds=$(SAMPLE))

calibrate: $(CLAIMS_CAL)  ## error rates, power and coverage of the claim rules; a missed bar is reported, not fatal

ifeq ($(REPRO),)
$(CLAIMS_CAL) $(CAL_SIDE) &: scripts/calibrate_claims.py $(addprefix src/rectifiers/analysis/,simulation.py worlds.py calibration.py) $(CLAIM_CODE) $(RESULTS)/runs.csv $(RESULTS)/epochs.csv
	$(PY) scripts/calibrate_claims.py --results $(RESULTS) --out $@
else
# A reproduction decides the claims by the same rules, so it reports their committed calibration; with
# none committed (a profile of its own) it calibrates them on its runs.
COMMITTED_CAL := $(wildcard results/$(PROFILE)/claims_calibration.csv)
$(CLAIMS_CAL) $(CAL_SIDE) &: $(or $(COMMITTED_CAL),$(RESULTS)/runs.csv $(RESULTS)/epochs.csv)
	$(if $(COMMITTED_CAL),cp $(COMMITTED_CAL) $(wildcard $(CAL_SIDE:$(RESULTS)/%=results/$(PROFILE)/%)) $(RESULTS)/,\
	  $(PY) scripts/calibrate_claims.py --results $(RESULTS) --out $(CLAIMS_CAL))
endif

stability: $(STABILITY)  ## the seed bootstrap of the verdicts (descriptive): a column of the claims table

$(STABILITY): scripts/stability.py src/rectifiers/analysis/stability.py $(CLAIM_CODE) $(RESULTS)/runs.csv $(RESULTS)/epochs.csv
	$(PY) scripts/stability.py --results $(RESULTS) --out $@

power: $(POWER) $(FIG_DIR)/power.pdf  ## each rule's power at 5 to 20 seeds per cell, beside the study's cost

ifeq ($(REPRO),)
$(POWER): scripts/power.py $(addprefix src/rectifiers/analysis/,simulation.py worlds.py calibration.py power.py) $(CLAIM_CODE) $(RESULTS)/runs.csv $(RESULTS)/epochs.csv
	$(PY) scripts/power.py --results $(RESULTS) --out $@
else
# Power, like the calibration, belongs to the rules and the committed noise: a reproduction reports the
# committed table (a one-seed sample has no spread to simulate from); with none committed, its own.
COMMITTED_POWER := $(wildcard results/$(PROFILE)/power.csv)
$(POWER): $(or $(COMMITTED_POWER),$(RESULTS)/runs.csv $(RESULTS)/epochs.csv)
	$(if $(COMMITTED_POWER),cp $(COMMITTED_POWER) $@,$(PY) scripts/power.py --results $(RESULTS) --out $@)
endif

$(FIG_DIR)/power.pdf $(FIG_DIR)/power.png: $(POWER)

# The signal through depth at initialisation (scripts/signal_scale.py): each seed's initial plain CNN, built
# as its run builds it, on the monitor's probe; seconds of CPU per network. The mechanism figure reads it.
SIGNAL := $(RESULTS)/signal_scale.csv
$(SIGNAL): scripts/signal_scale.py src/rectifiers/training/models.py src/rectifiers/activations.py \
  src/rectifiers/analysis/mechanism.py conf/claims.yaml conf/levels.yaml
	$(PY) scripts/signal_scale.py --profile $(PROFILE) --out $@ $(DATA)
# a profile without it (smoke: synthetic data has no probe to measure) draws the figure without those panels
$(FIG_DIR)/mechanism.pdf $(FIG_DIR)/mechanism.png $(GEN)/numbers.tex: $(wildcard $(SIGNAL))
$(GEN)/table_claims.tex $(GEN)/numbers.tex: $(STABILITY) $(CLAIMS_CAL) $(POWER)
$(GEN)/numbers.tex: $(CAL_SIDE)
$(GEN)/numbers.tex: $(POWER)

figures: $(FIG_PDFS)  ## figures/ from results/, only what is stale (with tables and paper: under a minute)

$(FIG_DIR)/%.pdf $(FIG_DIR)/%.png: scripts/fig_%.py $(STYLE) $(RESULT_FILES)
	$(PY) scripts/fig_$*.py --results $(RESULTS) --out $(FIG_DIR)

tables: $(TABLES)  ## paper/generated/*.tex from results/, only what is stale

$(GEN)/%.tex: scripts/%.py $(STYLE) $(RESULT_FILES) $(wildcard conf/*/*.yaml)
	$(PY) scripts/$*.py --results $(RESULTS) --out $@

$(GEN)/table_claims_calibration.tex $(GEN)/numbers.tex: $(CLAIMS_CAL)

$(GEN)/numbers.tex: scripts/make_numbers.py $(STYLE) $(RESULT_FILES)
	$(PY) scripts/make_numbers.py --results $(RESULTS) --out $@

paper: $(PDF)  ## paper/main.pdf from the committed records, under a minute; needs TeX (make tex)

$(PDF): $(PAPER_SRC:%=$(TREE)%) $(FIG_PDFS) $(TABLES)
	@$(HAVE_TEX) || { echo "make paper: $(NO_TEX)"; exit 1; }
	cd $(TREE)paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -quiet main.tex

ifneq ($(REPRO),)
$(PAPER_SRC:%=$(TREE)%): $(TREE)%: %  ## a reproduction's paper: the committed text, its own figures and numbers
	@mkdir -p $(@D)
	cp $< $@
endif

readme: paper/generated/numbers.tex  ## the README's findings, from the committed paper's numbers (a reproduction leaves it alone)
	$(PY) scripts/readme_findings.py --numbers $< --readme README.md

compare: env  ## a reproduction's report.md and compare.pdf (the last step of make reproduce)
	@test -n "$(REPRO)" || { echo "make compare: name the reproduction, REPRO=<folder of reproductions/>:" \
	  $$(ls reproductions 2>/dev/null || echo none yet); exit 1; }
	$(PY) scripts/compare.py report --reproduction $(TREE:%/=%)

test: $(VENV)/.installed-test  ## the lint, then the tests, offline on synthetic data, in JOBS processes: about 8 min on 2 cores, 10 on a fresh clone (the install)
	$(VENV)/bin/ruff check src scripts tests
	$(PY) -m compileall -q src scripts tests  # bytecode once, not in each of the tests' processes (PYTHONDONTWRITEBYTECODE)
	$(PY) -m pytest -q -n $(JOBS) --dist worksteal  # an idle worker takes queued tests from a busy one

smoke:  ## the whole chain on synthetic data, in a few minutes (a reproduction: reproductions/smoke-*/)
	$(MAKE) reproduce PROFILE=smoke

bench: env  ## training throughput and the monitor's overhead: about 4 min
	$(PY) scripts/bench.py $(DATA_BENCH)

plan: env  ## what `make reproduce` with the same PROFILE, DATA, FRESH and SAMPLE would train, and how long
	$(PY) scripts/plan.py --profile $(PROFILE) $(if $(FRESH),--fresh) $(SAMPLING) $(if $(REPRO),--name $(REPRO)) $(DATA)

clean:  ## never reproductions/: delete a reproduction's folder yourself
	rm -rf runs .cache paper/*.aux paper/*.log paper/*.fls paper/*.fdb_latexmk paper/*.bbl paper/*.blg paper/*.out
