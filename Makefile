# Rectifiers under stress. `make reproduce` runs the whole chain: environment, training,
# aggregation, figures, tables and numbers, PDF. Each step is a rule with real prerequisites.
PROFILE ?= cpu
ifeq ($(PROFILE),smoke)
DATA ?=
else
DATA ?= data.source=torchvision data.download=true
endif
JOBS ?= $(shell nproc)
VENV ?= .venv
PY := $(VENV)/bin/python
STUDIES := calibration resnet_pilot lr batch_size depth init_bias resnet plain_long resnet_trained
RESULTS := results/$(PROFILE)
RESULT_FILES := $(RESULTS)/runs.csv $(RESULTS)/epochs.csv $(RESULTS)/layers.csv $(RESULTS)/study.json \
  $(RESULTS)/calibration.csv
FIGS := activations stress_accuracy stress_dead dynamics layer_heatmap revival prelu_slopes resnet budget
FIG_PDFS := $(FIGS:%=figures/%.pdf)
TABLES := $(patsubst scripts/%.py,paper/generated/%.tex,$(wildcard scripts/table_*.py)) paper/generated/numbers.tex
ANALYSIS := style results activations knobs tidy rules claims claim_text stats latex cli scaling config schema files
STYLE := $(ANALYSIS:%=src/rectifiers/%.py) conf/claims.yaml
CLAIMS_CAL := $(RESULTS)/claims_calibration.csv
TEX_PACKAGES := latexmk texlive-latex-extra texlive-science lmodern poppler-utils
export SOURCE_DATE_EPOCH := 1700000000
export FORCE_SOURCE_DATE := 1
export PYTHONHASHSEED := 0

.PHONY: reproduce env tex train results calibrate figures tables paper test smoke bench plan clean

reproduce: env train results calibrate figures tables paper
.NOTPARALLEL: reproduce  # in order, also under -j: a failed training stops the chain before aggregation

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

tex:  ## pdflatex and friends; as root on Debian they are installed, otherwise say what to install
	@command -v latexmk >/dev/null && command -v pdflatex >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && apt-get install -y -q --no-install-recommends $(TEX_PACKAGES); \
	  else echo "LaTeX is missing. Install: sudo apt-get install --no-install-recommends $(TEX_PACKAGES)"; exit 1; fi; }

train: env  ## resumable: runs with a record in results/$(PROFILE)/runs/ are skipped; new records go there.
           ## Each sweep checks its jobs and the data before it starts any, and fails if a run failed.
	for s in $(STUDIES); do \
	  $(PY) scripts/train.py -m +study=$$s profile=$(PROFILE) $(DATA) runtime.threads=1 runtime.progress=false \
	    runtime.record_dir=$(RESULTS)/runs \
	    hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS) || exit 1; done

results: env  ## rewritten only when their content changes; never with fewer runs or other data unless FORCE=1
	$(PY) scripts/aggregate.py --profile $(PROFILE) $(if $(FORCE),--force) $(DATA)

calibrate: $(CLAIMS_CAL)  ## error rates, power and coverage of the claim rules; fails if a bar is missed

$(CLAIMS_CAL): scripts/calibrate_claims.py src/rectifiers/claims.py src/rectifiers/stats.py src/rectifiers/rules.py \
  src/rectifiers/tidy.py conf/claims.yaml \
  $(RESULTS)/runs.csv $(RESULTS)/epochs.csv
	$(PY) scripts/calibrate_claims.py --results $(RESULTS) --out $@

figures: $(FIG_PDFS)

figures/%.pdf figures/%.png: scripts/fig_%.py $(STYLE) $(RESULT_FILES)
	$(PY) scripts/fig_$*.py --results $(RESULTS) --out figures

tables: $(TABLES)

paper/generated/%.tex: scripts/%.py $(STYLE) $(RESULT_FILES) $(wildcard conf/*/*.yaml)
	$(PY) scripts/$*.py --results $(RESULTS) --out $@

paper/generated/table_claims_calibration.tex paper/generated/numbers.tex: $(CLAIMS_CAL)

paper/generated/numbers.tex: scripts/make_numbers.py $(STYLE) $(RESULT_FILES)
	$(PY) scripts/make_numbers.py --results $(RESULTS) --out $@

paper: paper/main.pdf

paper/main.pdf: $(wildcard paper/*.tex paper/sections/*.tex) paper/refs.bib $(FIG_PDFS) $(TABLES) | tex
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -quiet main.tex

test: env
	$(PY) -m pytest -q

smoke:  ## the whole chain on synthetic data, in a few minutes
	$(MAKE) reproduce PROFILE=smoke

bench: env
	$(PY) scripts/bench.py $(DATA_BENCH)

plan: env
	$(PY) scripts/plan.py --profile $(PROFILE)

clean:
	rm -rf runs .cache paper/*.aux paper/*.log paper/*.fls paper/*.fdb_latexmk paper/*.bbl paper/*.blg paper/*.out
