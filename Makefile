# The README's two commands: `make demo` and `make test`. Both build .venv first.
# On a server, an optimised interpreter: make install PYTHON=/usr/bin/python3.11 (README)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install demo test browser clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Open http://127.0.0.1:8000 and log in with a demo login above (Ctrl+C stops the server)."
	$(PY) manage.py runserver 127.0.0.1:8000

browser:
	@bash scripts/ensure_chromium.sh

test: install browser
	$(PY) -m pytest

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
