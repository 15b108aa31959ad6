"""``python -m node run --config DIR/node.toml``: how the testnet starts node processes
(the same commands as ``tally node``, without needing the console script on PATH)."""

from node.cli.node_cmd import node_app

node_app(prog_name="tally node")
