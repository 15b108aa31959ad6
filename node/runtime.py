"""``tally node run``: open the database, join the network, serve the API, until SIGINT/SIGTERM.

Everything runs in one trio nursery. On a signal the nursery is cancelled: a ledger write in
progress is a synchronous LevelDB batch, so it always finishes before cancellation can land,
and the database is closed last. A small ``run.json`` beside the config tells tools (the
testnet, scripts) where the running node listens; it is removed on a clean stop.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import trio

from node.api.app import create_app
from node.api.limits import ApiLimits
from node.api.server import check_bindable, hypercorn_config, serve_api
from node.assembly import assemble_node
from node.config import NodeConfig
from node.cpu import CPU
from node.facade import NodeAddresses, NodeIdentity
from node.keyfile import read_admin_token, read_key_file
from node.logs import log
from node.metrics import NodeMetrics
from node.net import NetConfig, P2PNetwork
from node.peer_requests import MAX_REQUEST_BYTES

logger = logging.getLogger("tally.node")

RUN_INFO = "run.json"


def topic_for(network: bytes) -> str:
    return f"tally/txs/{network.hex()[:16]}"


def board_topic_for(network: bytes) -> str:
    return f"tally/board/{network.hex()[:16]}"


async def run_node(config: NodeConfig, *, ready: trio.Event | None = None) -> None:
    """Run a node until cancelled or signalled. Raises NodeError subclasses on bad set-up."""
    keypair = read_key_file(config.key_file)
    if config.cpu_by_stage:  # the cost report's CPU by stage (node.cpu); off by default: it costs
        CPU.enabled = True
        trio.lowlevel.add_instrument(CPU.instrument())
    metrics = NodeMetrics()
    net = P2PNetwork(
        NetConfig(
            seed=keypair.seed,
            listen=config.listen,
            bootstrap=config.bootstrap,
            announce=config.announce,
            topic=topic_for(config.network_id),
            board_topic=board_topic_for(config.network_id),
            max_request=MAX_REQUEST_BYTES,
        ),
        metrics,
    )
    addresses = NodeAddresses()
    node = assemble_node(
        config=config, keypair=keypair, transport=net, metrics=metrics, addresses=addresses, dialer=net
    )
    store = node.store
    run_info = config.path.resolve().parent / RUN_INFO
    try:
        admin_token = read_admin_token(config.admin_token_file) if config.admin_token_file else None
        app = create_app(
            node.api,
            admin_token=admin_token,
            explorer=node.api,
            cors_origins=config.cors_origins,
            admission_turns=node.chain.admission_turns,
        )
        api_config = hypercorn_config(config.api_listen, ApiLimits())
        check_bindable(config.api_listen, "[api] listen")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            await nursery.start(net.serve, node.handlers)
            addresses.peer_id, addresses.listen = net.peer_id, list(net.announce_addrs)
            await nursery.start(node.serve)
            addresses.api_url = await nursery.start(serve_api, app, api_config)
            _write_run_info(run_info, node.api.identity, addresses)
            log(
                logger,
                logging.INFO,
                "node running",
                role=config.role,
                node_id=node.api.identity.node_id,
                ledger=store.last_header.seq,
                api=addresses.api_url,
                p2p=",".join(addresses.listen),
            )
            if ready is not None:
                ready.set()
    finally:
        run_info.unlink(missing_ok=True)
        store.close()
        log(logger, logging.INFO, "node stopped", ledger=store.last_header.seq)


async def _stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log(logger, logging.INFO, "stopping", signal=signal.Signals(signum).name)
            scope.cancel()
            return


def _write_run_info(path: Path, identity: NodeIdentity, addresses: NodeAddresses) -> None:
    info = {
        "pid": os.getpid(),
        "peer_id": addresses.peer_id,
        "p2p": addresses.listen,
        "api": addresses.api_url,
        "node_id": identity.node_id,
        "role": identity.role,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(path)
