# The suite-wide rules and fixtures are in tests/suite_rules.py: a module named conftest here would
# clash, for mypy, with tests/wallet/conftest.py, so this file only loads them (and mypy skips it).
pytest_plugins = ["suite_rules"]
