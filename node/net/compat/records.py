"""Per-RPC costs py-libp2p 0.8.1 adds to every gossip message, and how Tally keeps them once.

A profile of a validator at 500 tx/s (``py-spy --gil``, issue 18) put about a third of its Python
time in py-libp2p, and two items there are repeated work, not I/O:

* **The sender's signed peer record.** GossipSub attaches our signed peer record (an Envelope of
  our listen addresses) to every RPC it sends, and ``env_to_send_in_RPC`` rebuilds our address
  list and re-serialises the cached envelope each time (~6 % of py-libp2p's share). Every
  receiver then verifies the envelope's Ed25519 signature, decodes it and rewrites the sender's
  addresses in its peerstore (``maybe_consume_signed_record``, ~8 %) — for each of the three
  copies of each batch a validator of a 4-node mesh receives. The record changes only when the
  addresses do: we keep the envelope bytes for ``OWN_RECORD_TTL_S``, and a receiver that already
  accepted these exact bytes from this peer accepts them again without the work for
  ``PEER_RECORD_REFRESH_S`` (well inside the 2 h the peerstore keeps them). Bytes never accepted
  are checked in full, every time, as before; nothing else of the RPC is skipped.
* **Yamux window updates on every read** (``PY_YAMUX_RELEASE_ON_READ``, on by default in 0.8.1):
  each read of a stream sends a WINDOW_UPDATE frame back, so every gossip RPC or SCP frame
  costs its receiver an encrypted write and its sender a read (~10 % of py-libp2p's share). Off,
  py-libp2p batches most updates, and ``node.net.compat.window`` the rest, as go-yamux does: once
  half the 256 KiB window is consumed.

Process-wide and idempotent (``install``); targets ``node.net.compat.LIBP2P_VERSION``.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable

from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.peer.peerstore import env_to_send_in_RPC
from libp2p.pubsub import gossipsub as gossipsub_module
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.utils import maybe_consume_signed_record

from node.net.compat import window

OWN_RECORD_TTL_S = 5.0  # our record's bytes are rebuilt at most this often (an address change shows later)
PEER_RECORD_REFRESH_S = 60.0  # a peer's unchanged record is checked and stored again this often
MAX_REMEMBERED_PER_HOST = 1024  # peer records remembered as accepted, per host
YAMUX_RELEASE_ON_READ = "PY_YAMUX_RELEASE_ON_READ"

SendRecord = Callable[[IHost], tuple[bytes, bool]]
ConsumeRecord = Callable[[rpc_pb2.RPC, IHost, ID], bool]

_installed: list[bool] = []


def install(clock: Callable[[], float] = time.monotonic) -> None:
    """Patch py-libp2p's pubsub and GossipSub modules (their imported names) and the yamux
    setting, once per process."""
    if _installed:
        return
    _installed.append(True)
    os.environ.setdefault(YAMUX_RELEASE_ON_READ, "0")  # an operator's explicit setting wins
    window.install()  # after the setting above: yamux's settings are read once from here on
    send = OwnRecordCache(env_to_send_in_RPC, clock)
    consume = PeerRecordMemo(maybe_consume_signed_record, clock)
    for module in (pubsub_module, gossipsub_module):
        setattr(module, "env_to_send_in_RPC", send)  # noqa: B010 - patching a module global on purpose
        setattr(module, "maybe_consume_signed_record", consume)  # noqa: B010


class OwnRecordCache:
    """``env_to_send_in_RPC`` with its answer kept per host for ``OWN_RECORD_TTL_S``."""

    def __init__(self, build: SendRecord, clock: Callable[[], float]) -> None:
        self._build = build
        self._clock = clock
        self._kept: weakref.WeakKeyDictionary[IHost, tuple[float, bytes]] = weakref.WeakKeyDictionary()

    def __call__(self, host: IHost) -> tuple[bytes, bool]:
        now = self._clock()
        kept = self._kept.get(host)
        if kept is not None and now < kept[0]:
            return kept[1], False
        envelope, created = self._build(host)
        self._kept[host] = (now + OWN_RECORD_TTL_S, envelope)
        return envelope, created


class PeerRecordMemo:
    """``maybe_consume_signed_record`` that remembers, per host, which peer's record bytes it
    accepted and when; the same bytes from the same peer are accepted again without verifying,
    decoding and storing them until ``PEER_RECORD_REFRESH_S`` passed. Refusals are not kept."""

    def __init__(self, consume: ConsumeRecord, clock: Callable[[], float]) -> None:
        self._consume = consume
        self._clock = clock
        self._accepted: weakref.WeakKeyDictionary[IHost, dict[tuple[bytes, bytes], float]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, rpc: rpc_pb2.RPC, host: IHost, peer_id: ID) -> bool:
        if not rpc.HasField("senderRecord"):
            return True
        now = self._clock()
        accepted = self._accepted.setdefault(host, {})
        key = (peer_id.to_bytes(), rpc.senderRecord)
        until = accepted.get(key)
        if until is not None and now < until:
            return True
        if not self._consume(rpc, host, peer_id):
            accepted.pop(key, None)
            return False
        if len(accepted) >= MAX_REMEMBERED_PER_HOST:
            accepted.clear()
        accepted[key] = now + PEER_RECORD_REFRESH_S
        return True
