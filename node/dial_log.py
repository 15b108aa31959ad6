"""Why dials fail, said at the default log level without flooding the log.

A node that cannot reach a bootstrap peer (wrong address, closed firewall port, the peer down)
must say so where an operator looks: the first failure is a warning naming the address and the
cause, then one line per ``LOG_INTERVAL_S`` per peer with the number of failures since, and one
line when the peer is reached again.
"""

from __future__ import annotations

import logging

from node.logs import log

logger = logging.getLogger("tally.net")

LOG_INTERVAL_S = 60.0
MAX_CAUSE_CHARS = 200


class DialFailureLog:
    def __init__(self) -> None:
        self._failing: dict[str, tuple[float, int]] = {}  # peer -> (last logged at, failures since)

    def failed(self, peer: str, addrs: str, exc: BaseException, now: float, what: str = "peer") -> None:
        logged_at, count = self._failing.get(peer, (None, 0))
        count += 1
        if logged_at is not None and now - logged_at < LOG_INTERVAL_S:
            self._failing[peer] = (logged_at, count)
            return
        self._failing[peer] = (now, 0)
        log(
            logger,
            logging.WARNING,
            f"cannot reach {what}",
            peer=peer,
            addrs=addrs,
            error=dial_error_text(exc),
            failures=count,
            retry="every few seconds",
        )

    def succeeded(self, peer: str, what: str = "peer") -> None:
        if self._failing.pop(peer, None) is not None:
            log(logger, logging.INFO, f"reached {what} again", peer=peer)
        else:
            log(logger, logging.DEBUG, f"dialed {what}", peer=peer)


def dial_error_text(exc: BaseException) -> str:
    """The innermost cause of a dial failure in one short line (py-libp2p nests its errors:
    "all addresses failed" ← "connection failed" ← the OSError that says why)."""
    seen: set[int] = set()
    inner = exc
    while id(inner) not in seen:
        seen.add(id(inner))
        nested = inner.__cause__ or inner.__context__
        if isinstance(inner, BaseExceptionGroup) and inner.exceptions:
            nested = inner.exceptions[0]
        if nested is None:
            break
        inner = nested
    if isinstance(inner, TimeoutError) or type(inner).__name__ == "TooSlowError":
        return "timed out (no answer: a firewall dropping packets, or a wrong address)"
    text = str(inner) or type(inner).__name__
    if isinstance(inner, OSError) and inner.strerror:
        text = inner.strerror
    return f"{type(inner).__name__}: {text}"[:MAX_CAUSE_CHARS]
