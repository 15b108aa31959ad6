"""The community member's commands; ``register`` adds them to the ``tally`` root (``node.cli.app``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``wallet``, ``contact``, ``balance``, ``send``, ``send-batch``, ``history``, ``tx``, ``currency``,
    ``proposal``, ``account``, ``config``, ``request``, ``pay``, ``watch``, ``board``, ``credits``,
    ``exchange`` and ``recovery`` to ``app``."""
    from wallet.cli import (
        account_cmd,
        batch_cmd,
        board_cmd,
        community_cmd,
        config_cmd,
        contact_cmd,
        credits_cmd,
        currency_cmd,
        exchange_cmd,
        history_cmd,
        local_cmd,
        money,
        proposal_cmd,
        recovery_cmd,
        request_cmd,
        tx_cmd,
        wallet_cmd,
        watch_cmd,
    )

    app.add_typer(wallet_cmd.app)
    app.add_typer(contact_cmd.app)
    app.command("balance")(money.balance)
    app.command("send")(money.send)
    app.command("send-batch")(batch_cmd.send_batch)
    app.command("request")(request_cmd.request)
    app.command("pay")(request_cmd.pay)
    app.command("watch")(watch_cmd.watch)
    app.command("history")(history_cmd.history)
    app.add_typer(tx_cmd.app)
    del community_cmd  # imported for its commands: members, vouch, leave and fund join `currency`
    app.add_typer(currency_cmd.app)
    app.add_typer(proposal_cmd.app)
    app.add_typer(account_cmd.app)
    app.add_typer(config_cmd.app)
    app.add_typer(board_cmd.app)
    local_cmd.add_commands(currency_cmd.app)  # register, unregister, businesses (spend-locally money)
    app.add_typer(credits_cmd.app)
    app.add_typer(exchange_cmd.app)
    app.add_typer(recovery_cmd.app)
