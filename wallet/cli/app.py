"""Root of the ``tally`` command: global options and the registry of sub-commands.

Sub-command modules import their heavy dependencies (libp2p, trio, the node) inside the command
functions, so ``tally --help`` and wallet commands stay quick to start.
"""

from __future__ import annotations

from importlib.metadata import version

import typer

app = typer.Typer(
    name="tally",
    help="Tally: a peer-to-peer ledger for community currencies (time banks, LETS, local money).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tally {version('tally')}")
        raise typer.Exit()


@app.callback()
def root(
    show_version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
    ),
) -> None:
    """Tally: a peer-to-peer ledger for community currencies (time banks, LETS, local money)."""


def main() -> None:
    """Console entry point (``tally``)."""
    app()
