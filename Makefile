# The two commands of README.md: `make run` and `make test`.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format install clean bench docs messages

$(INSTALLED): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(PYTHON) -m botstore serve

test: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PYTHON) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

docs: $(INSTALLED)
	$(PYTHON) -m pip install --quiet -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict --site-dir site

# Message catalogues (docs/languages.md, "Adding or changing a translation"): extract every id
# from the code and templates, merge the new ones into each locale's .po, compile the .mo files
# the server loads. Both are committed: a fresh clone and the wheel need no compile step;
# tests/i18n fail when a .po lacks an id or a .mo is older than its .po.
LOCALES_DIR := botstore/locales
messages: $(INSTALLED)
	PYTHONPATH=. $(VENV)/bin/pybabel extract -F babel.cfg -k translate:2 --add-location=file \
		--sort-by-file --project=botstore --copyright-holder=botstore \
		-o $(LOCALES_DIR)/messages.pot .
	$(VENV)/bin/pybabel update -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR) \
		--no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile --statistics -d $(LOCALES_DIR)

bench: $(INSTALLED)
	$(PYTHON) bench/webhook.py

clean:
	rm -rf $(VENV) botstore.db botstore.db-wal botstore.db-shm
