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


from node.cli import node_app  # noqa: E402  (registered after the root is defined)
from wallet.cli.testnet import testnet_app  # noqa: E402

app.add_typer(node_app, name="node")
app.add_typer(testnet_app, name="testnet")


def main() -> None:
    """Console entry point (``tally``)."""
    app()


def _register_wallet_commands() -> None:
    """The community member's commands (issue 5)."""
    from wallet.cli import account_cmd, config_cmd, contact_cmd, currency_cmd, money, tx_cmd, wallet_cmd

    app.add_typer(wallet_cmd.app)
    app.add_typer(contact_cmd.app)
    app.command("balance")(money.balance)
    app.command("send")(money.send)
    app.command("history")(money.history)
    app.add_typer(tx_cmd.app)
    app.add_typer(currency_cmd.app)
    app.add_typer(account_cmd.app)
    app.add_typer(config_cmd.app)


_register_wallet_commands()

from wallet.cli import quorum, sim  # noqa: E402  (consensus tools: tally sim, tally check-quorum)

sim.register(app)
quorum.register(app)
