# The README's two commands are `make book` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv test unit nbval book lab train bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

## test: build the book, then run the unit, property, notebook (strict nbval) and browser tests:
## `pytest --nbval`, configured in pyproject.toml (testpaths tests and book, nbval's options)
test: book
	$(PY) -m pytest --nbval

## unit: the tests of nnlib only (fast)
unit: venv
	$(PY) -m pytest tests

## nbval: re-run every chapter and compare with its stored outputs (strict, sanitised)
nbval: venv
	$(PY) -m pytest --nbval book

## book: build the HTML book offline into book/_build/html (notebooks are stored executed)
book: venv
	PYTHONPATH=$(CURDIR) $(VENV)/bin/jupyter-book build book/ -W -n --keep-going

## lab: open the book's notebooks in JupyterLab
lab: venv
	cd book && ../$(VENV)/bin/jupyter lab

## train: train the article's small network [784, 10, 10] from the terminal (He initialisation)
train: venv
	$(PY) -m nnlib train --layers 784,10,10 --learning-rate 0.1 --iterations 1000 --train-size 33600 --init he --seed 0

## bench: nnlib against the article, PyTorch and scikit-learn (installs the benchmark extras)
bench: venv
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) benchmarks/run_all.py

## widget-pictures: take the pictures of the explorer and the digit pad that chapter 9 shows in
## place of the live widgets (book/_static/explorer.png, digit_pad.png, widget_pictures.json):
## the browser test in JupyterLab and Chromium; run it after changing nnlib/widgets
.PHONY: widget-pictures
widget-pictures: venv
	NNLIB_REQUIRE_BROWSER=1 NNLIB_WIDGET_PICTURES=1 $(PY) -m pytest tests/test_browser.py -p no:cacheprovider

clean:
	rm -rf book/_build .pytest_cache
