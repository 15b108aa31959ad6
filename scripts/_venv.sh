# Sourced by scripts/*: make sure ./.venv exists and holds this checkout's current dependencies.
# The venv is rebuilt when pyproject.toml changed since the last install (a stamp file remembers).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
stamp="$venv/.tally-installed"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Tally needs Python 3.11 or newer ('$python' is $("$python" --version 2>&1))" >&2
    exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating $venv" >&2
    "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ]; then
    echo "==> installing Tally and its dependencies into $venv (first run takes about a minute)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$repo[dev]" >&2
    touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
