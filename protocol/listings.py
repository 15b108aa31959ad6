"""The offers and requests board: signed listings and their withdrawals (off-ledger data).

A time bank lives by matching people who offer help with people who need it. Listings are how
members say so; they are **not money** and never enter a ledger: nodes keep and gossip them on
their own topic (``node.board``). This module is their pure format.

Wire forms (canonical msgpack, ``protocol.codec``):

* listing body   ``[1, kind, author32, currency, category, topic, title, text, amount,
  created_ms, expires_ms]``; ``kind`` 0 offer / 1 request, ``category`` a code of ``Category``,
  ``amount`` in the currency's minor units (hours × 100 for a time currency; 0 = to be agreed);
* withdrawal body ``[1, author32, listing_id32, created_ms]``: a signed tombstone;
* board item      ``[ITEM_LISTING or ITEM_WITHDRAWAL, body_bytes, signature64]``;
* board batch     ``[1, [item_bytes, …]]``: what one gossip message carries;
* board page      a board batch of 0 to ``MAX_BATCH_ITEMS`` listings (newest first) that answers
  a board query ``[1, created_ms, listing_id32 or empty]``: the listings older than that one, so a
  node that was away (or is new) fetches what its peers hold.

An item's id is BLAKE2b-256 personalised per item type over ``network ID ‖ body bytes``; the
author signs that id. The network ID is inside, so a testnet listing is never valid on another
network. As with transactions, the body stays the exact bytes received: id and signature are
checked over them without re-encoding.

Text rules (``check_item``) keep every listing safe to print in a terminal or a page: no control
characters (a newline only in the text), no bidirectional overrides (which could make a title read
differently from what it says), a non-blank title.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from protocol import codec
from protocol.codec import INT64_MAX, UINT64_MAX
from protocol.errors import DecodeError
from protocol.hashing import blake2b256
from protocol.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Keypair, verify
from protocol.operations import MAX_CODE_LEN, CurrencyKind, valid_code
from protocol.state import Currency, Holding, Role

LISTING_V1 = 1
WITHDRAWAL_V1 = 1
BATCH_V1 = 1
ITEM_LISTING = 1
ITEM_WITHDRAWAL = 2
PERSON_LISTING = b"tally.listing"
PERSON_WITHDRAWAL = b"tally.withdraw"

MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 600
MAX_TOPIC_CHARS = 40
MAX_ITEM_BYTES = 4096  # 600 Arabic characters are ~1.2 KB in UTF-8: room to spare, nothing more
MAX_BATCH_ITEMS = 64
MAX_BATCH_BYTES = MAX_BATCH_ITEMS * (MAX_ITEM_BYTES + 8) + 16
MAX_LIFETIME_MS = 90 * 24 * 3600 * 1000  # a listing lives at most 90 days; post it again after
CLOCK_SKEW_MS = 10 * 60 * 1000  # how far in the future a listing's creation time may be
ID_SIZE = 32


class ListingKind(enum.Enum):
    """Someone offers help or asks for it; the value is the stable name."""

    OFFER = "offer"
    REQUEST = "request"


class Category(enum.Enum):
    """A small fixed list, so that a board can be filtered in every language; the listing's free
    ``topic`` says the rest ("garden: pruning fruit trees")."""

    CARE = "care"  # company, looking after someone
    HOUSEHOLD = "household"  # cleaning, cooking, shopping
    GARDEN = "garden"
    REPAIRS = "repairs"  # DIY, mending, bicycles
    TRANSPORT = "transport"  # lifts, moving things
    LEARNING = "learning"  # lessons, languages, homework
    HEALTH = "health"  # wellbeing, exercise
    ADMIN = "admin"  # letters, forms, paperwork
    TECH = "tech"  # phones, computers
    CREATIVE = "creative"  # music, crafts, photos
    FOOD = "food"  # produce, meals
    OTHER = "other"


_KIND_CODES = {ListingKind.OFFER: 0, ListingKind.REQUEST: 1}
_KIND_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}
_CATEGORY_CODES = {category: code for code, category in enumerate(Category)}
_CATEGORY_BY_CODE = {code: category for category, code in _CATEGORY_CODES.items()}


class ListingProblem(enum.Enum):
    """Why a decoded board item is refused. ``provable`` problems are the same on every node
    (a peer relaying one is misbehaving); the others depend on the clock or the ledger."""

    BAD_SIGNATURE = "bad_signature"
    BAD_TEXT = "bad_text"  # control characters, bidi overrides, a blank title
    BAD_TIMES = "bad_times"  # expiry not after creation, or a lifetime over MAX_LIFETIME_MS
    EXPIRED = "expired"
    FROM_THE_FUTURE = "from_the_future"  # created more than CLOCK_SKEW_MS ahead of our clock

    @property
    def provable(self) -> bool:
        return self not in (ListingProblem.EXPIRED, ListingProblem.FROM_THE_FUTURE)

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    ListingProblem.BAD_SIGNATURE: "the signature does not match the author (or was made for another network)",
    ListingProblem.BAD_TEXT: "the title is blank, or the text holds control characters or direction overrides",
    ListingProblem.BAD_TIMES: f"the expiry must be after the creation and at most "
    f"{MAX_LIFETIME_MS // 86_400_000} days later",
    ListingProblem.EXPIRED: "the listing has expired",
    ListingProblem.FROM_THE_FUTURE: "the listing was created in the future (is a clock wrong?)",
}


@dataclass(frozen=True, slots=True)
class ListingBody:
    kind: ListingKind
    author: bytes
    currency: str
    category: Category
    topic: str
    title: str
    text: str
    amount: int  # minor units of ``currency``; 0 = to be agreed
    created_ms: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing as received or built: its body, exact body bytes, id and the author's signature."""

    body: ListingBody
    body_bytes: bytes
    id: bytes
    signature: bytes

    @property
    def author(self) -> bytes:
        return self.body.author

    def encode(self) -> bytes:
        return codec.pack((ITEM_LISTING, self.body_bytes, self.signature))


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """The author takes a listing off the board (a tombstone kept until the listing expires)."""

    author: bytes
    listing_id: bytes
    created_ms: int
    body_bytes: bytes
    id: bytes
    signature: bytes

    def encode(self) -> bytes:
        return codec.pack((ITEM_WITHDRAWAL, self.body_bytes, self.signature))


BoardItem = Listing | Withdrawal


def encode_listing_body(body: ListingBody) -> bytes:
    return codec.pack(
        (
            LISTING_V1,
            _KIND_CODES[body.kind],
            body.author,
            body.currency,
            _CATEGORY_CODES[body.category],
            body.topic,
            body.title,
            body.text,
            body.amount,
            body.created_ms,
            body.expires_ms,
        )
    )


def build_listing(network: bytes, body: ListingBody, author: Keypair) -> Listing:
    """Encode and sign ``body``.

    Raises:
        ValueError: ``author`` is not the body's author, or a field breaks a wire bound (every
            built listing decodes again on any node; ``check_item`` judges the rest).
    """
    if author.public_key != body.author:
        raise ValueError("a listing is signed by its author")
    body_bytes = encode_listing_body(body)
    try:
        _decode_listing_body(body_bytes)
    except (DecodeError, OverflowError) as exc:
        raise ValueError(f"this listing could not be decoded by a node: {exc}") from None
    listing_id = item_id(network, ITEM_LISTING, body_bytes)
    listing = Listing(body, body_bytes, listing_id, author.sign(listing_id))
    if len(listing.encode()) > MAX_ITEM_BYTES:
        raise ValueError(f"a listing is at most {MAX_ITEM_BYTES} bytes; shorten its text")
    return listing


def build_withdrawal(network: bytes, author: Keypair, listing_id: bytes, created_ms: int) -> Withdrawal:
    if len(listing_id) != ID_SIZE:
        raise ValueError(f"a listing id is {ID_SIZE} bytes")
    body_bytes = codec.pack((WITHDRAWAL_V1, author.public_key, listing_id, created_ms))
    withdrawal_id = item_id(network, ITEM_WITHDRAWAL, body_bytes)
    return Withdrawal(
        author.public_key, listing_id, created_ms, body_bytes, withdrawal_id, author.sign(withdrawal_id)
    )


def item_id(network: bytes, item_type: int, body_bytes: bytes) -> bytes:
    person = PERSON_LISTING if item_type == ITEM_LISTING else PERSON_WITHDRAWAL
    return blake2b256(network + body_bytes, person)


def decode_board_item(data: bytes, network: bytes) -> BoardItem:
    """Strictly decode one listing or withdrawal (the signature is checked by ``check_item``).

    Raises:
        DecodeError: oversize, malformed or non-canonical bytes, unknown versions or codes.
    """
    obj = codec.unpack(data, max_size=MAX_ITEM_BYTES, max_bin=MAX_ITEM_BYTES, what="board item")
    item_type, body_bytes, signature = codec.array(obj, 3, "board item")
    body_bytes = codec.blob(body_bytes, "board item body", max_len=MAX_ITEM_BYTES)
    signature = codec.blob(signature, "board item signature", size=SIGNATURE_SIZE)
    if type(item_type) is int and item_type == ITEM_LISTING:
        body = _decode_listing_body(body_bytes)
        return Listing(body, body_bytes, item_id(network, ITEM_LISTING, body_bytes), signature)
    if type(item_type) is int and item_type == ITEM_WITHDRAWAL:
        fields = codec.unpack(body_bytes, max_size=MAX_ITEM_BYTES, what="withdrawal")
        version, author, listing_id, created_ms = codec.array(fields, 4, "withdrawal")
        codec.tag(version, WITHDRAWAL_V1, "withdrawal")
        return Withdrawal(
            codec.blob(author, "withdrawal author", size=PUBLIC_KEY_SIZE),
            codec.blob(listing_id, "withdrawn listing id", size=ID_SIZE),
            codec.integer(created_ms, "withdrawal time", hi=UINT64_MAX),
            body_bytes,
            item_id(network, ITEM_WITHDRAWAL, body_bytes),
            signature,
        )
    raise DecodeError(f"board item: unknown type {item_type!r}")


def _decode_listing_body(body_bytes: bytes) -> ListingBody:
    fields = codec.unpack(body_bytes, max_size=MAX_ITEM_BYTES, what="listing")
    (version, kind, author, currency, category, topic, title, text, amount, created, expires) = codec.array(
        fields, 11, "listing"
    )
    codec.tag(version, LISTING_V1, "listing")
    kind_code = codec.integer(kind, "listing kind", hi=len(_KIND_BY_CODE) - 1)
    category_code = codec.integer(category, "listing category", hi=len(_CATEGORY_BY_CODE) - 1)
    code = codec.text(currency, "listing currency", max_len=MAX_CODE_LEN)
    if not valid_code(code):
        raise DecodeError(f"listing currency: {code!r} is not a currency code")
    return ListingBody(
        kind=_KIND_BY_CODE[kind_code],
        author=codec.blob(author, "listing author", size=PUBLIC_KEY_SIZE),
        currency=code,
        category=_CATEGORY_BY_CODE[category_code],
        topic=codec.text(topic, "listing topic", max_len=MAX_TOPIC_CHARS),
        title=codec.text(title, "listing title", max_len=MAX_TITLE_CHARS),
        text=codec.text(text, "listing text", max_len=MAX_TEXT_CHARS),
        amount=codec.integer(amount, "listing amount", hi=INT64_MAX),
        created_ms=codec.integer(created, "listing creation time", hi=UINT64_MAX),
        expires_ms=codec.integer(expires, "listing expiry", hi=UINT64_MAX),
    )


def encode_board_batch(items: list[bytes]) -> bytes:
    """Several encoded items in one gossip message (each stays its exact bytes)."""
    return codec.pack((BATCH_V1, tuple(items)))


def decode_board_batch(data: bytes, *, min_items: int = 1) -> tuple[bytes, ...]:
    """The encoded items of a gossiped batch, or of a board page (``min_items=0``); decode each
    with ``decode_board_item``.

    Raises:
        DecodeError: oversize, malformed, too few, or more than ``MAX_BATCH_ITEMS`` items.
    """
    obj = codec.unpack(
        data, max_size=MAX_BATCH_BYTES, max_bin=MAX_ITEM_BYTES, max_array=MAX_BATCH_ITEMS, what="board batch"
    )
    version, items = codec.array(obj, 2, "board batch")
    codec.tag(version, BATCH_V1, "board batch")
    return tuple(
        codec.blob(item, "board batch item", max_len=MAX_ITEM_BYTES)
        for item in codec.seq(items, "board batch", min_len=min_items, max_len=MAX_BATCH_ITEMS)
    )


def encode_board_query(before: tuple[int, bytes] | None) -> bytes:
    """Ask for the listings created before ``(created_ms, id)`` (None: from the newest)."""
    created_ms, listing_id = before if before is not None else (0, b"")
    return codec.pack((BATCH_V1, created_ms, listing_id))


def decode_board_query(data: bytes) -> tuple[int, bytes] | None:
    version, created_ms, listing_id = codec.array(codec.unpack(data, max_size=128), 3, "board query")
    codec.tag(version, BATCH_V1, "board query")
    created = codec.integer(created_ms, "board query time", hi=UINT64_MAX)
    found = codec.blob(listing_id, "board query id", max_len=ID_SIZE)
    if not found:
        return None
    if len(found) != ID_SIZE:
        raise DecodeError(f"board query id: expected {ID_SIZE} bytes or none")
    return created, found


# -- rules -----------------------------------------------------------------------------------------


def check_item(item: BoardItem, now_ms: int) -> ListingProblem | None:
    """What is wrong with ``item`` at ``now_ms`` (None: nothing). Cheap checks first, the
    signature last. Membership needs the ledger: see ``may_post``."""
    if isinstance(item, Withdrawal):
        return None if verify(item.author, item.id, item.signature) else ListingProblem.BAD_SIGNATURE
    body = item.body
    if not (_clean(body.title, newlines=False) and body.title.strip()):
        return ListingProblem.BAD_TEXT
    if not (_clean(body.topic, newlines=False) and _clean(body.text, newlines=True)):
        return ListingProblem.BAD_TEXT
    if not body.created_ms < body.expires_ms <= body.created_ms + MAX_LIFETIME_MS:
        return ListingProblem.BAD_TIMES
    if not verify(body.author, item.id, item.signature):
        return ListingProblem.BAD_SIGNATURE
    if body.expires_ms <= now_ms:
        return ListingProblem.EXPIRED
    if body.created_ms > now_ms + CLOCK_SKEW_MS:
        return ListingProblem.FROM_THE_FUTURE
    return None


def may_post(currency: Currency, holding: Holding | None, author: bytes) -> bool:
    """Whether ``author`` may post listings for ``currency``: an admitted member of a time or
    mutual-credit currency; for an issued currency (which has no membership) its issuer or anyone
    who has held it and is not suspended or expelled. Strangers cannot fill a community's board."""
    if currency.kind is CurrencyKind.ISSUED:
        return author == currency.issuer or (
            holding is not None and holding.role not in (Role.SUSPENDED, Role.EXPELLED)
        )
    return holding is not None and holding.member


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _clean(text: str, *, newlines: bool) -> bool:
    """No control characters (other than newlines where allowed), no explicit direction marks,
    no unassigned or surrogate code points: what a terminal or a page shows is what was written."""
    for char in text:
        if char == "\n" and newlines:
            continue
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Cn"):
            return False
    return True


def clean_text(text: str, *, newlines: bool = False) -> bool:
    """``_clean`` for other free text shown to people (payment-request memos)."""
    return _clean(text, newlines=newlines)


# -- payments linked to a listing -------------------------------------------------------------------

REF_BYTES = 10  # 80 bits: no listing id can be ground to collide with another's reference
REF_CHARS = 2 * REF_BYTES
MEMO_LINK_PREFIX = "for:"


def listing_ref(listing_id: bytes) -> str:
    """The short reference of a listing (the first 10 bytes of its id, 20 hex characters): what a
    payment's memo and a payment request carry."""
    return listing_id[:REF_BYTES].hex()


def is_listing_ref(text: str) -> bool:
    return len(text) == REF_CHARS and all(c in "0123456789abcdef" for c in text)


def link_memo(ref: str, note: str = "") -> str:
    """The memo of a payment that settles listing ``ref``: ``for:REF`` or ``for:REF NOTE``.

    A payment links to a listing through its memo (signed by the payer, stored by every node,
    no new ledger field): 25 of the 64 memo bytes go to the link, 39 remain for a note.

    Raises:
        ValueError: ``ref`` is not a listing reference.
    """
    if not is_listing_ref(ref):
        raise ValueError(f"{ref!r} is not a listing reference ({REF_CHARS} hex characters)")
    return f"{MEMO_LINK_PREFIX}{ref} {note}" if note else f"{MEMO_LINK_PREFIX}{ref}"


def linked_ref(memo: bytes) -> str | None:
    """The listing reference a payment memo links to, or None."""
    head = len(MEMO_LINK_PREFIX) + REF_CHARS
    if not memo.startswith(MEMO_LINK_PREFIX.encode()) or len(memo) < head:
        return None
    if len(memo) > head and memo[head : head + 1] != b" ":
        return None
    ref = memo[len(MEMO_LINK_PREFIX) : head].decode("ascii", "replace")
    return ref if is_listing_ref(ref) else None
