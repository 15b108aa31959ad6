"""``tally node init`` and ``tally node run``.

Heavy imports (trio, libp2p, plyvel) happen inside the commands so ``tally --help`` stays fast.
Exit codes: 0 clean stop; 1 the node failed while running (storage); 2 bad configuration or input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

node_app = typer.Typer(help="Run a validator or watcher node.", no_args_is_help=True)
_err = Console(stderr=True)


@node_app.command("init")
def init(
    folder: Path = typer.Option(..., "--dir", help="Folder for node.toml, keys and data (created)."),
    validator: bool = typer.Option(False, "--validator", help="Vote in consensus (default: watcher)."),
    passphrase: str = typer.Option(
        "Tally local network",
        "--network-passphrase",
        help="Network passphrase; every node of a network uses the same.",
    ),
    peers: list[str] = typer.Option([], "--peer", help="Bootstrap peer multiaddr with /p2p/ID (repeatable)."),
    quorum: list[str] = typer.Option(
        [], "--quorum", help="Validator id (tlyv1…) to trust (repeatable); default: this node alone."
    ),
    threshold: int = typer.Option(
        0, "--threshold", help="How many of --quorum must agree (default ⌊2n/3⌋+1)."
    ),
    p2p_port: int | None = typer.Option(
        None, "--p2p-port", help="Peer-to-peer TCP port on 127.0.0.1 (default 4100; see --listen)."
    ),
    api_port: int | None = typer.Option(
        None, "--api-port", help="HTTP API port on 127.0.0.1 (default 8080)."
    ),
    listen: str | None = typer.Option(
        None,
        "--listen",
        help="Where to accept peers, e.g. /ip4/0.0.0.0/tcp/4100 (every interface); default /ip4/127.0.0.1/tcp/4100.",
    ),
    announce: list[str] = typer.Option(
        [],
        "--announce",
        help="Address other nodes reach this one at, e.g. /ip4/203.0.113.7/tcp/4100 or /dns4/v1.example.org/tcp/4100 (repeatable).",
    ),
    api_listen: str | None = typer.Option(
        None, "--api-listen", help="HOST:PORT of the HTTP API (default 127.0.0.1:8080)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Create a node folder with a commented node.toml and a fresh key (mode 0600, never printed).

    Examples:
      tally node init --dir ~/tally-node --validator
      tally node init --dir ./watcher --peer /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo… --quorum tlyv1… --quorum tlyv1…
      tally node init --dir ~/tally-node --validator --listen /ip4/0.0.0.0/tcp/4100 \\
          --announce /ip4/203.0.113.7/tcp/4100
    """
    import nacl.utils

    from node.config import host_port
    from node.errors import ConfigError, NodeError
    from node.netaddr import DEFAULT_P2P_PORT, MultiaddrError, parse_announce, parse_listen, parse_peer
    from node.peer_ids import peer_id_for
    from node.setup import NodeSpec, QuorumSetSpec, init_node
    from protocol.addresses import decode_validator, encode_validator
    from protocol.errors import AddressError
    from protocol.keys import Keypair

    for text in quorum:
        try:
            decode_validator(text)
        except AddressError as exc:
            _fail(2, f"--quorum {text}: {exc}")
    if listen is not None and p2p_port is not None:
        _fail(2, "give either --listen or --p2p-port, not both")
    if api_listen is not None and api_port is not None:
        _fail(2, "give either --api-listen or --api-port, not both")
    try:
        listen_address = str(parse_listen(listen)) if listen is not None else None
        announced = tuple(dict.fromkeys(str(parse_announce(a)) for a in announce))
        bootstrap = tuple(dict.fromkeys(str(parse_peer(p)) for p in peers))
        if api_listen is not None:
            host_port(api_listen, "--api-listen")
    except MultiaddrError as exc:
        _fail(2, f"--listen/--announce/--peer: {exc}")
    except ConfigError as exc:
        _fail(2, str(exc))
    keypair = Keypair(nacl.utils.random(32))
    own = encode_validator(keypair.public_key)
    members = list(dict.fromkeys(quorum + ([own] if validator else [])))
    qset = None
    if quorum:
        qset = QuorumSetSpec(threshold or (2 * len(members)) // 3 + 1, tuple(members))
        if not 1 <= qset.threshold <= len(members):
            _fail(2, f"--threshold must be between 1 and {len(members)}")
    elif not validator:
        _fail(2, "a watcher needs --quorum: the validators whose signatures it trusts")
    spec = NodeSpec(
        role="validator" if validator else "watcher",
        network_passphrase=passphrase,
        p2p_port=DEFAULT_P2P_PORT if p2p_port is None else p2p_port,
        api_port=8080 if api_port is None else api_port,
        bootstrap=bootstrap,
        quorum_set=qset,
        listen=listen_address,
        announce=announced,
        api_listen=api_listen,
    )
    try:
        config_path = init_node(folder, spec, keypair)
    except NodeError as exc:
        _fail(2, str(exc))
    result = {
        "config": str(config_path),
        "node_id": own,
        "peer_id": peer_id_for(keypair.public_key),
        "role": spec.role,
        "listen": spec.listen_address,
        "announce": list(spec.announce),
        "api_listen": spec.api_address,
    }
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(
            f"Node folder ready: {config_path}\n  validator id: {own}\n  peer id: {result['peer_id']}\n"
            f"  peers connect to: {', '.join(spec.announce) or spec.listen_address}\n"
            f"Start it with: tally node run --config {config_path}"
        )


@node_app.command("run")
def run(
    config: Path = typer.Option(..., "--config", help="Path to node.toml."),
) -> None:
    """Run the node until Ctrl-C or SIGTERM, then stop cleanly (ledger writes finished, database closed).

    Example:
      tally node run --config ~/tally-node/node.toml
    """
    from node.config import load_config
    from node.errors import ConfigError
    from node.node_process import exec_node_process

    try:
        load_config(config)  # a bad config is refused here, with this command's messages
    except ConfigError as exc:
        _fail(2, f"{config}: {exc}")
    # The node runs in a process without the command line's libraries (node.node_process).
    exec_node_process(config)


def _fail(code: int, message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)
