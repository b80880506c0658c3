# mingxiao — everyday commands. First version; see README "Quick start".
#   make run     install into .venv, create the demo workbook, serve with gunicorn on http://127.0.0.1:5000
#   make test    the whole test suite
#   make lint    ruff + mypy
#   make bench   benchmark tables (not part of the test suite)
#   make i18n    extract, update and compile the translation catalogues

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install run test lint bench i18n clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	MINGXIAO_ENV=demo $(BIN)/flask --app app demo
	@echo "打开 / open http://$(HOST):$(PORT)/ （Ctrl+C 停止 / to stop）"
	MINGXIAO_ENV=demo $(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --timeout 60 'app:create_app()'

test: $(STAMP)
	$(BIN)/pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

i18n: $(STAMP)
	PYBABEL=$(BIN)/pybabel scripts/i18n.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
