"""Yamux receive credit in py-libp2p 0.8.1: a WINDOW_UPDATE once half the window is consumed, and
its tuning settings read once instead of on every frame.

* **Credit.** py-libp2p's ``YamuxStream._auto_tune_and_send_window_update`` runs after every read
  of a stream. Even with ``PY_YAMUX_RELEASE_ON_READ=0`` (``node.net.compat.records``) its "partial
  slack" branch returns the credit of every read at once when less than half the window is owed:
  two nodes exchanging SCP frames and tx batches sent a WINDOW_UPDATE for 60-70 % of the frames
  they read (289 updates for ~480 data frames in a two-node run), each an encrypted write for the
  reader and a read, decrypt and dispatch for the writer. ``grant_credit_when_half_consumed``
  keeps go-yamux's rule instead: credit goes back once the bytes consumed and not yet credited
  reach half the stream's target window, together with py-libp2p's window auto-tuning. This is
  the receiver's own flow-control choice (the yamux spec leaves it to each side), so peers on any
  version keep talking: a writer that exhausts its window always gets credit, since a reader that
  drained the stream then owes the whole window.
* **Settings.** Every frame read and every window check looked its ``PY_YAMUX_*`` settings up in
  ``os.environ`` again (~1 % of a validator's busy samples at 600 tx/s). They are read once per
  process, when ``install`` runs (a node's environment does not change while it runs).

Process-wide and idempotent (``install``); targets ``node.net.compat.LIBP2P_VERSION``. An operator
who set ``PY_YAMUX_RELEASE_ON_READ`` to on keeps py-libp2p's own credit function.
"""

from __future__ import annotations

import functools

from libp2p.stream_muxer.yamux import yamux as yamux_module
from libp2p.stream_muxer.yamux.yamux import YamuxStream

_installed: list[bool] = []


def install() -> None:
    """Read the yamux settings once and, unless release-on-read is on, patch the credit function."""
    if _installed:
        return
    _installed.append(True)
    read_setting = vars(yamux_module)["_py_yamux_env"]
    setattr(yamux_module, "_py_yamux_env", functools.cache(read_setting))  # noqa: B010 - patching a module global on purpose
    if not yamux_module._yamux_release_on_read():
        setattr(YamuxStream, "_auto_tune_and_send_window_update", grant_credit_when_half_consumed)  # noqa: B010


async def grant_credit_when_half_consumed(stream: YamuxStream, *, bytes_read: int = 0) -> None:
    """After a read of ``stream``: send a WINDOW_UPDATE only once the credit owed reaches half the
    target window (go-yamux's ``sendWindowUpdate``), growing the target as py-libp2p does."""
    increment = 0
    async with stream.window_lock:
        buffered = len(stream.conn.stream_buffers.get(stream.stream_id, b""))
        owed = stream.target_recv_window - (stream.recv_window + buffered)
        if owed > 0 and owed >= stream._grow_threshold():
            increment = stream._grow_to_delta(buffered) + stream._apply_autotune_epoch(buffered)
            stream._pending_recv_release = 0
    if increment > 0:
        await stream.send_window_update(increment, skip_lock=True)
