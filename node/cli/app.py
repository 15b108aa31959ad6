"""Root of the ``tally`` command: global options and the registry of sub-commands.

The root sits at the top of the import graph, in ``node/``: it registers the node's own commands
(``node``, ``testnet``, ``sim``, ``check-quorum``) and asks the wallet to register its commands
(``wallet.cli.register``), so the wallet never imports the node. Sub-command modules import their
heavy dependencies (libp2p, trio, plyvel, the node runtime, consensus) inside the command
functions, so ``tally --help`` and wallet commands stay quick to start (tests/test_cli_root.py).
"""

from __future__ import annotations

from importlib.metadata import version

import typer

from node.cli import node_card_cmd, quorum, quorum_health_cmd, sim
from node.cli.node_cmd import node_app
from node.cli.testnet import testnet_app
from wallet.cli import register as register_wallet

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


quorum_health_cmd.register(node_app)
node_card_cmd.register(node_app)
app.add_typer(node_app, name="node")
app.add_typer(testnet_app, name="testnet")
register_wallet(app)
sim.register(app)
quorum.register(app)


def main() -> None:
    """Console entry point (``tally``)."""
    app()
