# The suite-wide rules and fixtures are in tests/suite_rules.py: a module named conftest here would
# clash, for mypy, with tests/wallet/conftest.py, so this file only loads them (and mypy skips it).
pytest_plugins = ["suite_rules"]

# The suite runs with the py-libp2p trim that `tally node run` installs (node/libp2p_trim.py), so
# every libp2p path the tests exercise runs against it; this must come before any libp2p import.
from node.libp2p_trim import install as _trim_libp2p  # noqa: E402

_trim_libp2p()
