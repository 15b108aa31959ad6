"""The board a node keeps: listings in memory and in the store's ``b:`` area, admitted by rules.

A listing is admitted when it decodes, passes ``protocol.listings.check_item`` (text, times,
signature), its author may post for its currency on this node's current ledger (``may_post``), the
author is under the post rate, and the caps leave room: per member and currency, per currency, in
all. Caps refuse rather than evict, so a flood can never push out what others posted first; the
per-member cap keeps one member from filling a currency's share. A withdrawal (signed by the
listing's author) removes the listing and leaves a tombstone until the listing would have expired,
so a copy of the listing still travelling is not taken back in.

Every method takes ``now_ms`` (wall-clock milliseconds) from its caller: the rules are testable
with any clock, and ``node.clock`` stays the only reader of time.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter, deque
from dataclasses import dataclass
from typing import TypeVar

from node.errors import StorageError
from node.logs import log
from node.storage.board import BoardArea
from protocol.errors import DecodeError
from protocol.listings import (
    Category,
    Listing,
    ListingKind,
    ListingProblem,
    Withdrawal,
    check_item,
    decode_board_item,
    listing_ref,
    may_post,
)
from protocol.state import StateOverlay, StateReader

logger = logging.getLogger("tally.board")

HOUR_MS = 3_600_000
_K = TypeVar("_K")


@dataclass(frozen=True, slots=True)
class BoardLimits:
    per_member: int = 20  # open listings of one member in one currency
    per_currency: int = 2_000
    total: int = 20_000
    posts_per_hour: int = 10  # listings one author may post per hour (seen by this node)
    max_page: int = 100


class BoardVerdict(enum.Enum):
    """What the board made of an item. ``accepted`` ones were stored; ``provable`` refusals are
    the same on every node (a peer relaying one misbehaves); the rest depend on this node's clock,
    ledger or what it already holds."""

    ADDED = "added"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    BAD_TEXT = "bad_text"
    BAD_TIMES = "bad_times"
    NOT_AUTHOR = "not_author"  # a withdrawal signed by someone other than the listing's author
    EXPIRED = "expired"
    FROM_THE_FUTURE = "from_the_future"
    NO_CURRENCY = "no_currency"
    NOT_MEMBER = "not_member"
    RATE_LIMITED = "rate_limited"
    MEMBER_FULL = "member_full"
    CURRENCY_FULL = "currency_full"
    BOARD_FULL = "board_full"
    UNKNOWN_LISTING = "unknown_listing"
    WITHDRAWN_BEFORE = "withdrawn_before"  # the listing was withdrawn: it is not taken back
    NOT_STORED = "not_stored"  # this node's disk refused the write (full, failing): nothing changed

    @property
    def accepted(self) -> bool:
        return self in (BoardVerdict.ADDED, BoardVerdict.WITHDRAWN)

    @property
    def provable(self) -> bool:
        return self in _PROVABLE


_PROVABLE = frozenset(
    {
        BoardVerdict.MALFORMED,
        BoardVerdict.BAD_SIGNATURE,
        BoardVerdict.BAD_TEXT,
        BoardVerdict.BAD_TIMES,
        BoardVerdict.NOT_AUTHOR,
    }
)
_BY_PROBLEM = {
    ListingProblem.BAD_SIGNATURE: BoardVerdict.BAD_SIGNATURE,
    ListingProblem.BAD_TEXT: BoardVerdict.BAD_TEXT,
    ListingProblem.BAD_TIMES: BoardVerdict.BAD_TIMES,
    ListingProblem.EXPIRED: BoardVerdict.EXPIRED,
    ListingProblem.FROM_THE_FUTURE: BoardVerdict.FROM_THE_FUTURE,
}


@dataclass(frozen=True, slots=True)
class BoardAnswer:
    verdict: BoardVerdict
    message: str
    item_id: bytes | None = None  # the listing's id (for a withdrawal: the withdrawn listing's)


@dataclass(frozen=True, slots=True)
class BoardQuery:
    currency: str | None = None
    kind: ListingKind | None = None
    category: Category | None = None
    author: bytes | None = None
    before: tuple[int, bytes] | None = None  # (created_ms, id) of the last listing of the previous page
    limit: int = 50


class Board:
    """The listings this node holds. One trio task owns it (no locks): the API and the peer
    service call it between checkpoints."""

    def __init__(self, area: BoardArea, state: StateReader, network_id: bytes, limits: BoardLimits) -> None:
        self.area = area
        self.state = state  # the committed ledger state (membership is judged on it)
        self.network_id = network_id
        self.limits = limits
        self._listings: dict[bytes, Listing] = {}
        self._refs: dict[str, bytes] = {}
        self._tombstones: dict[bytes, int] = {}  # withdrawn listing id -> its expiry
        self._per_member: Counter[tuple[bytes, str]] = Counter()
        self._per_currency: Counter[str] = Counter()
        self._posts: dict[bytes, deque[int]] = {}  # author -> times of their recent listings

    def __len__(self) -> int:
        return len(self._listings)

    # -- admission -------------------------------------------------------------------------------

    def submit(self, raw: bytes, now_ms: int, *, rate_limited: bool = True) -> BoardAnswer:
        """Judge one encoded item and keep it if it passes (never raises for bad input).
        ``rate_limited=False`` for listings fetched from a peer's board (posted earlier)."""
        try:
            item = decode_board_item(raw, self.network_id)
        except DecodeError as exc:
            return BoardAnswer(BoardVerdict.MALFORMED, f"cannot decode the item: {exc}")
        if isinstance(item, Withdrawal):
            return self._withdraw(item, raw, now_ms)
        return self._add(item, raw, now_ms, rate_limited)

    def _add(self, listing: Listing, raw: bytes, now_ms: int, rate_limited: bool) -> BoardAnswer:
        if listing.id in self._listings:
            return BoardAnswer(BoardVerdict.DUPLICATE, "this node already has that listing", listing.id)
        if listing.id in self._tombstones:
            return BoardAnswer(BoardVerdict.WITHDRAWN_BEFORE, "its author withdrew that listing", listing.id)
        problem = check_item(listing, now_ms)
        if problem is not None:
            return BoardAnswer(_BY_PROBLEM[problem], problem.explanation, listing.id)
        refusal = self._room_for(listing, now_ms, rate_limited)
        if refusal is not None:
            return refusal
        try:
            self.area.save_listing(listing.id, raw)
        except StorageError as exc:
            return _not_stored(exc, listing.id)
        self._keep(listing)
        if rate_limited:
            self._posts.setdefault(listing.author, deque(maxlen=self.limits.posts_per_hour)).append(now_ms)
        return BoardAnswer(BoardVerdict.ADDED, "listed", listing.id)

    def _room_for(self, listing: Listing, now_ms: int, rate_limited: bool) -> BoardAnswer | None:
        body = listing.body
        state = StateOverlay(self.state)
        currency = state.currency(body.currency)
        if currency is None:
            return BoardAnswer(BoardVerdict.NO_CURRENCY, f"no currency {body.currency} on this ledger")
        if not may_post(currency, state.holding(body.author, body.currency), body.author):
            return BoardAnswer(
                BoardVerdict.NOT_MEMBER, f"the author is not a member of {body.currency}: only members post"
            )
        recent = self._posts.get(body.author) if rate_limited else None
        if recent is not None and len(recent) >= self.limits.posts_per_hour and recent[0] > now_ms - HOUR_MS:
            return BoardAnswer(
                BoardVerdict.RATE_LIMITED,
                f"at most {self.limits.posts_per_hour} listings an hour from one member; try again later",
            )
        limits = self.limits
        if self._per_member[(body.author, body.currency)] >= limits.per_member:
            return BoardAnswer(
                BoardVerdict.MEMBER_FULL,
                f"at most {limits.per_member} open listings per member in {body.currency}; withdraw one first",
            )
        if self._per_currency[body.currency] >= limits.per_currency:
            return BoardAnswer(BoardVerdict.CURRENCY_FULL, f"the {body.currency} board is full")
        if len(self._listings) >= limits.total:
            return BoardAnswer(BoardVerdict.BOARD_FULL, "this node's board is full")
        return None

    def _withdraw(self, withdrawal: Withdrawal, raw: bytes, now_ms: int) -> BoardAnswer:
        target = withdrawal.listing_id
        if target in self._tombstones:
            return BoardAnswer(BoardVerdict.DUPLICATE, "that listing was already withdrawn", target)
        listing = self._listings.get(target)
        if listing is None:
            return BoardAnswer(BoardVerdict.UNKNOWN_LISTING, "this node has no such listing", target)
        if check_item(withdrawal, now_ms) is not None:
            return BoardAnswer(BoardVerdict.BAD_SIGNATURE, ListingProblem.BAD_SIGNATURE.explanation, target)
        if withdrawal.author != listing.author:
            return BoardAnswer(BoardVerdict.NOT_AUTHOR, "only a listing's author can withdraw it", target)
        try:
            self.area.save_withdrawal(target, listing.body.expires_ms, raw)
        except StorageError as exc:
            return _not_stored(exc, target)
        self._drop(listing)
        self._tombstones[target] = listing.body.expires_ms
        return BoardAnswer(BoardVerdict.WITHDRAWN, "withdrawn", target)

    def _keep(self, listing: Listing) -> None:
        self._listings[listing.id] = listing
        self._refs[listing_ref(listing.id)] = listing.id
        self._per_member[(listing.author, listing.body.currency)] += 1
        self._per_currency[listing.body.currency] += 1

    def _drop(self, listing: Listing) -> None:
        """Take a listing off the board (its reference stays while a tombstone may need it)."""
        del self._listings[listing.id]
        _decrement(self._per_member, (listing.author, listing.body.currency))
        _decrement(self._per_currency, listing.body.currency)

    # -- upkeep ----------------------------------------------------------------------------------

    def load(self, now_ms: int) -> None:
        """Take back what the store holds (after a restart), checking it again like any input."""
        for raw in self.area.listings():
            try:
                item = decode_board_item(raw, self.network_id)
            except DecodeError:
                continue
            if isinstance(item, Listing) and check_item(item, now_ms) is None:
                self._keep(item)
        for expires_ms, _raw in self.area.withdrawals():
            try:
                withdrawal = decode_board_item(_raw, self.network_id)
            except DecodeError:
                continue
            if isinstance(withdrawal, Withdrawal):
                self._tombstones[withdrawal.listing_id] = expires_ms
                self._refs[listing_ref(withdrawal.listing_id)] = withdrawal.listing_id
        self.expire(now_ms)
        log(
            logger,
            logging.INFO,
            "board loaded",
            listings=len(self._listings),
            withdrawn=len(self._tombstones),
        )

    def expire(self, now_ms: int) -> int:
        """Forget expired listings and the tombstones of listings that would have expired."""
        gone = [item_id for item_id, listing in self._listings.items() if listing.body.expires_ms <= now_ms]
        for item_id in gone:
            self._drop(self._listings[item_id])
        stale = [item_id for item_id, expires_ms in self._tombstones.items() if expires_ms <= now_ms]
        for item_id in stale:
            del self._tombstones[item_id]
        for item_id in gone + stale:
            self._refs.pop(listing_ref(item_id), None)
        if gone or stale:
            try:
                self.area.forget(gone + stale)
            except StorageError as exc:  # they stay on disk; the next start loads and expires them again
                log(logger, logging.ERROR, "expired board items not pruned", error=str(exc))
        for author in [a for a, times in self._posts.items() if times[-1] <= now_ms - HOUR_MS]:
            del self._posts[author]
        return len(gone)

    # -- reading ---------------------------------------------------------------------------------

    def resolve(self, text: str) -> bytes | None:
        """The id of a listing this node holds or saw withdrawn, named by its id (64 hex) or its
        reference (20 hex); None when unknown or malformed."""
        cleaned = text.strip().lower()
        if len(cleaned) == 64:
            try:
                item_id = bytes.fromhex(cleaned)
            except ValueError:
                return None
            return item_id if item_id in self._listings or item_id in self._tombstones else None
        return self._refs.get(cleaned)

    def get(self, item_id: bytes) -> Listing | None:
        return self._listings.get(item_id)

    def is_withdrawn(self, item_id: bytes) -> bool:
        return item_id in self._tombstones

    def query(self, query: BoardQuery) -> list[Listing]:
        """Listings matching ``query``, newest first, ``query.limit`` at most."""
        found = [
            listing
            for listing in self._listings.values()
            if (query.currency is None or listing.body.currency == query.currency)
            and (query.kind is None or listing.body.kind is query.kind)
            and (query.category is None or listing.body.category is query.category)
            and (query.author is None or listing.author == query.author)
            and (query.before is None or (listing.body.created_ms, listing.id) < query.before)
        ]
        found.sort(key=lambda listing: (listing.body.created_ms, listing.id), reverse=True)
        return found[: query.limit]


def _not_stored(exc: StorageError, item_id: bytes) -> BoardAnswer:
    """A write the disk refused: the board stays as it was, the node keeps running, and the author
    (or the peer that relayed the item) hears that this node could not keep it, not that it is bad."""
    log(logger, logging.ERROR, "board item not stored", error=str(exc))
    return BoardAnswer(
        BoardVerdict.NOT_STORED,
        "this node could not store it (its disk refused the write); try again later",
        item_id,
    )


def _decrement(counter: Counter[_K], key: _K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
