"""``tally node card`` and ``tally node config add-validator | import-card``: building a network of
validators run by different operators without editing node.toml by hand.

Each operator runs ``tally node card`` and shares the card; every operator then imports the others'
cards (``import-card``) or adds them by id and address (``add-validator``). Edits keep the file's
comments, are checked as the node will read them and are written atomically (``node.config_edit``).
Exit codes: 0 done; 2 bad input (the message names what to fix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from node.config_edit import QuorumChange

config_app = typer.Typer(
    help="Change node.toml safely (comments kept, checked, atomic).", no_args_is_help=True
)
_err = Console(stderr=True)

CONFIG_OPTION = typer.Option(Path("node.toml"), "--config", help="Path to node.toml.")


def card(
    config: Path = CONFIG_OPTION,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the card to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the card only (it is JSON)."),
) -> None:
    """Print this node's card: its validator id, peer id and announce addresses, signed by its key.

    Send it to the other operators; they run `tally node config import-card FILE`. It holds no
    secret. The addresses are `[network] announce`, else a listen address that names one host.

    Examples:
      tally node card --config ~/tally-node/node.toml -o riverside-v1.card
      tally node card --json
    """
    from node.cards import CardError, make_card
    from node.clock import wall_ms
    from node.config import load_config
    from node.errors import NodeError
    from node.keyfile import read_key_file
    from node.netaddr import parse_listen

    try:
        loaded = load_config(config)
        keypair = read_key_file(loaded.key_file)
    except NodeError as exc:
        _fail(f"{config}: {exc}")
    addresses = list(loaded.announce)
    listen = parse_listen(loaded.listen)
    if not addresses and listen.concrete and not listen.loopback:
        addresses = [str(listen)]
    if not addresses:
        _fail(
            f"{config}: other machines cannot reach {loaded.listen}; set the address they dial in "
            "[network] announce (e.g. /ip4/PUBLIC_IP/tcp/4100), or init with --announce"
        )
    try:
        node_card = make_card(keypair, loaded.network_id, addresses, wall_ms())
    except CardError as exc:
        _fail(f"[network] announce: {exc}")
    text = node_card.text()
    if output is not None:
        output.write_text(text)
    if as_json or output is None:
        typer.echo(text, nl=False)
    if output is not None and not as_json:
        typer.echo(
            f"Card written to {output}: validator {node_card.node_id} at {', '.join(node_card.addresses)}\n"
            "Other operators import it with: tally node config import-card FILE --config THEIR/node.toml"
        )


@config_app.command("add-validator")
def add_validator(
    validator: str = typer.Argument(..., help="The validator's id (tlyv1…)."),
    peer: str | None = typer.Option(
        None, "--peer", help="Its address with /p2p/, e.g. /ip4/203.0.113.7/tcp/4100/p2p/12D3KooW…"
    ),
    threshold: int | None = typer.Option(
        None, "--threshold", help="How many must agree (default ⌊2n/3⌋+1 of the n members)."
    ),
    config: Path = CONFIG_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Trust a validator (add it to [consensus.quorum_set]) and dial it (add --peer to bootstrap).

    Examples:
      tally node config add-validator tlyv1… --peer /ip4/203.0.113.7/tcp/4100/p2p/12D3KooW…
      tally node config add-validator tlyv1… --threshold 3 --config ~/tally-node/node.toml
    """
    from node.config_edit import add_validator as edit
    from node.errors import ConfigError

    try:
        change = edit(config, validator, peer, threshold)
    except ConfigError as exc:
        _fail(f"{config}: {exc}")
    _report(change, as_json)


@config_app.command("import-card")
def import_card(
    card_file: Path = typer.Argument(..., help="A card made by `tally node card` on another node."),
    threshold: int | None = typer.Option(
        None, "--threshold", help="How many must agree (default ⌊2n/3⌋+1 of the n members)."
    ),
    config: Path = CONFIG_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Trust the validator of another operator's card and dial it at the card's address.

    The card's signature, network and addresses are checked first; an altered card is refused.

    Examples:
      tally node config import-card hilltop-v2.card --config ~/tally-node/node.toml
    """
    from node.cards import CardError, read_card
    from node.config import load_config
    from node.config_edit import add_validator as edit
    from node.errors import ConfigError

    try:
        network = load_config(config).network_id
        node_card = read_card(card_file.read_text(), network)
        change = edit(config, node_card.node_id, node_card.addresses[0], threshold)
    except OSError as exc:
        _fail(f"cannot read {card_file}: {exc.strerror}")
    except CardError as exc:
        _fail(f"{card_file}: {exc}")
    except ConfigError as exc:
        _fail(f"{config}: {exc}")
    _report(change, as_json)


def _report(change: QuorumChange, as_json: bool) -> None:
    result = {
        "config": str(change.config),
        "validator": change.validator,
        "added_validator": change.added_validator,
        "added_peer": change.added_peer,
        "threshold": change.threshold,
        "members": change.members,
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    done = "added to" if change.added_validator else "already in"
    lines = [f"{change.validator} {done} the quorum set of {change.config}"]
    if change.added_peer:
        lines.append(f"  dials it at {change.added_peer}")
    lines.append(f"  threshold {change.threshold} of {change.members}")
    lines.append("Check the whole network with: tally check-quorum NODE.toml … ; restart the node to apply")
    typer.echo("\n".join(lines))


def _fail(message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def register(node_app: typer.Typer) -> None:
    """Add ``tally node card`` and ``tally node config …`` to the ``tally node`` group."""
    node_app.command("card")(card)
    node_app.add_typer(config_app, name="config")
