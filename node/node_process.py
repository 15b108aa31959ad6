"""The node process proper: what ``tally node run`` turns into once its command line is read.

``tally node run`` is a command of the ``tally`` Typer root, and what a command line needs stays
in memory for the life of the process: Typer, Click, Rich, the pydantic adapters Typer builds to
check each option, the wallet's commands the root registers (httpx). That was about 9 MB of an
idle validator's ~95 MB resident memory. So once the command has checked the config (its errors
are reported as before, exit code 2), it replaces itself with ``python -m node.node_process
CONFIG`` (:func:`exec_node_process`; ``os.execv`` keeps the process id, the open files and the
signals, so systemd, the testnet and ``kill`` see one process), and this module imports only what
a running node needs.

Exit codes as ``tally node run`` documents them: 0 clean stop; 1 the node failed while running
(storage); 2 bad configuration or input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from node.libp2p_trim import install as trim_libp2p


def exec_node_process(config: Path) -> None:
    """Replace this process with the node process for ``config`` (does not return). Where the
    interpreter cannot be started again (no ``sys.executable``) the node runs here instead."""
    if not sys.executable:
        raise SystemExit(main([str(config)]))
    sys.stdout.flush()
    sys.stderr.flush()
    # The interpreter's own options (-X, -W, -O …) go along, as multiprocessing passes them on.
    options: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    os.execv(sys.executable, [sys.executable, *options, "-m", __name__, str(config)])


def main(argv: list[str]) -> int:
    """Run the node of the config at ``argv[0]`` until SIGINT/SIGTERM; the exit code."""
    trim_libp2p()  # before anything imports libp2p (node.libp2p_trim)
    import trio

    from node.config import load_config
    from node.errors import ConfigError, node_error_in
    from node.gc_tuning import tune_for_a_long_running_node
    from node.logs import setup_logging
    from node.runtime import run_node

    if len(argv) != 1:
        return _fail(2, "usage: python -m node.node_process CONFIG (see tally node run --help)")
    try:
        loaded = load_config(Path(argv[0]))
    except ConfigError as exc:
        return _fail(2, f"{argv[0]}: {exc}")
    setup_logging(loaded.log_level, loaded.log_format)
    tune_for_a_long_running_node()  # after every import (node.gc_tuning)
    try:
        trio.run(run_node, loaded)
    except KeyboardInterrupt:
        pass
    except BaseException as exc:
        error = node_error_in(exc)  # raised inside a nursery it arrives in an ExceptionGroup
        if error is None:
            raise
        return _fail(2 if isinstance(error, ConfigError) else 1, str(error))
    return 0


def _fail(code: int, message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
