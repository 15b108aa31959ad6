"""node.net.compat targets one py-libp2p version: any other one must make us look at every workaround.

No host is started here: these tests only construct objects and read attributes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import re
from pathlib import Path
from typing import Any

from libp2p.network.swarm import Swarm
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.transport.upgrader import TransportUpgrader

from node.net import compat

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_py_libp2p_is_the_one_the_workarounds_target() -> None:
    installed = importlib.metadata.version("libp2p")
    assert installed == compat.LIBP2P_VERSION, (
        f"py-libp2p {installed} is installed, but node/net/compat/ was written for "
        f"{compat.LIBP2P_VERSION}: re-examine every patch and private call there (each says why it "
        "exists), drop those the new version makes unnecessary, then update LIBP2P_VERSION"
    )


def test_pyproject_pins_that_exact_version() -> None:
    pins = re.findall(r'"libp2p==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pins == [compat.LIBP2P_VERSION]


def test_the_private_parts_we_patch_or_call_still_exist() -> None:
    """Each is named in a docstring of node/net/compat/ with its reason."""
    assert isinstance(pubsub_module.SUBSCRIPTION_CHANNEL_SIZE, int)
    assert callable(vars(pubsub_module)["RpcQueue"])
    assert inspect.iscoroutinefunction(Pubsub.push_msg)
    assert inspect.iscoroutinefunction(Pubsub.stream_handler)
    assert callable(Pubsub._handle_dead_peer)
    assert callable(GossipSub._get_peers_to_send)
    assert inspect.iscoroutinefunction(Swarm._handle_inbound_connection)
    assert inspect.iscoroutinefunction(Swarm.upgrade_inbound_raw_conn)
    assert callable(Swarm.unblock_peer)
    assert inspect.iscoroutinefunction(TransportUpgrader.upgrade_security)
    assert list(inspect.signature(TransportUpgrader.upgrade_security).parameters) == [
        "self",
        "raw_conn",
        "is_initiator",
        "peer_id",
    ]


def test_a_tally_host_is_built_with_our_patches_in_place() -> None:
    host = compat.new_tally_host(hashlib.sha256(b"compat").digest())
    swarm: Any = host.get_network()
    assert swarm.auto_connector.maybe_connect.__qualname__.endswith("_no_auto_connect")
    assert swarm.connections == {}
    assert swarm.connection_config.max_connections_per_peer == 1
    assert list(swarm.upgrader.security_multistream.transports) == ["/noise"]
