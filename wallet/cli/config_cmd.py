"""``tally config …``: the wallet settings in $TALLY_HOME/config.toml (default node, default wallet)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from wallet.cli.common import session
from wallet.cli.options import JsonOpt
from wallet.errors import BadInput
from wallet.home import DEFAULT_NODE_URL, NODE_ENV

app = typer.Typer(
    name="config",
    no_args_is_help=True,
    help="Wallet settings: which node to talk to by default, and the default wallet.",
)


@app.command("show")
def show(as_json: JsonOpt = False) -> None:
    """Show the home folder, the node URL in use (and where it comes from) and the default wallet.

    Examples:
      tally config show
    """
    with session(as_json) as s:
        configured = s.home.config().get("node", {}).get("url")
        source = (
            "TALLY_NODE" if os.environ.get(NODE_ENV) else "config.toml" if configured else "built-in default"
        )
        data = {
            "home": str(s.home.root),
            "node": s.home.node_url(),
            "node_source": source,
            "default_wallet": s.home.default_wallet(),
        }
        s.emit(
            data,
            [
                f"home:           {data['home']}",
                f"node:           {data['node']} (from {source})",
                f"default wallet: {data['default_wallet'] or '-'}",
            ],
        )


@app.command("set-node")
def set_node(
    url: Annotated[
        str | None, typer.Argument(metavar="[URL]", help=f"Node API URL, e.g. {DEFAULT_NODE_URL}.")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget the configured URL (use the built-in default).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set the node every command talks to unless --node or $TALLY_NODE says otherwise.

    Examples:
      tally config set-node http://127.0.0.1:8080
      tally config set-node --clear
    """
    with session(as_json) as s:
        if clear == (url is not None):
            raise BadInput("give either a URL or --clear", code="bad_usage")
        if url is not None and not url.startswith(("http://", "https://")):
            raise BadInput(f"{url!r} is not an http:// or https:// URL", code="bad_usage")
        s.home.set_config("node", "url", url.rstrip("/") if url else None)
        shown = s.home.config().get("node", {}).get("url")
        s.emit({"node": shown}, [f"default node: {shown or DEFAULT_NODE_URL + ' (built-in)'}"])
