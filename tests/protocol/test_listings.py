"""Board listings and withdrawals: canonical round trips, strict decoding, the rules (text, times,
signature, network) and who may post; the memo link of a payment to a listing."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_support import KEYS, NETWORK, OTHER_NETWORK

from protocol import codec
from protocol.errors import DecodeError
from protocol.listings import (
    CLOCK_SKEW_MS,
    MAX_BATCH_ITEMS,
    MAX_LIFETIME_MS,
    MAX_TEXT_CHARS,
    Category,
    ListingBody,
    ListingKind,
    ListingProblem,
    Withdrawal,
    build_listing,
    build_withdrawal,
    check_item,
    decode_board_batch,
    decode_board_item,
    encode_board_batch,
    link_memo,
    linked_ref,
    listing_ref,
    may_post,
)
from protocol.operations import CurrencyKind
from protocol.state import Currency, Holding, Role

NOW = 1_790_000_000_000
DAY = 86_400_000
AUTHOR = KEYS[1]

texts = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Cn"), blacklist_characters="\u202e\u2066\u200f"),
    max_size=30,
)
bodies = st.builds(
    ListingBody,
    kind=st.sampled_from(ListingKind),
    author=st.just(AUTHOR.public_key),
    currency=st.sampled_from(["HOUR", "LETS", "BRX"]),
    category=st.sampled_from(Category),
    topic=texts,
    title=texts.filter(lambda t: bool(t.strip())),
    text=texts,
    amount=st.integers(0, 10**15),
    created_ms=st.integers(NOW - DAY, NOW),
    expires_ms=st.integers(NOW + 1, NOW + 30 * DAY),
)


def body(**changes: object) -> ListingBody:
    base = ListingBody(
        ListingKind.OFFER, AUTHOR.public_key, "HOUR", Category.GARDEN, "pruning", "Garden help",
        "I can prune fruit trees on Saturdays.", 150, NOW, NOW + 14 * DAY,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@given(bodies)
def test_listing_round_trip_and_rules(listing_body: ListingBody) -> None:
    listing = build_listing(NETWORK, listing_body, AUTHOR)
    raw = listing.encode()
    decoded = decode_board_item(raw, NETWORK)
    assert decoded == listing
    assert decoded.encode() == raw
    assert check_item(decoded, NOW) is None


@given(st.binary(max_size=600))
def test_board_item_decoder_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_board_item(data, NETWORK)


@given(st.integers(0, 200), st.integers(0, 255))
def test_board_item_single_byte_change_never_passes_unnoticed(at: int, value: int) -> None:
    listing = build_listing(NETWORK, body(), AUTHOR)
    raw = bytearray(listing.encode())
    at %= len(raw)
    if raw[at] == value:
        return
    raw[at] = value
    try:
        decoded = decode_board_item(bytes(raw), NETWORK)
    except DecodeError:
        return
    assert check_item(decoded, NOW) is not None  # the signature no longer matches


def test_listing_signed_for_another_network_does_not_verify() -> None:
    listing = build_listing(OTHER_NETWORK, body(), AUTHOR)
    assert check_item(decode_board_item(listing.encode(), NETWORK), NOW) is ListingProblem.BAD_SIGNATURE


def test_listing_signed_by_someone_else_does_not_verify() -> None:
    listing = build_listing(NETWORK, body(), AUTHOR)
    forged = dataclasses.replace(listing, signature=KEYS[2].sign(listing.id))
    assert check_item(decode_board_item(forged.encode(), NETWORK), NOW) is ListingProblem.BAD_SIGNATURE
    with pytest.raises(ValueError, match="signed by its author"):
        build_listing(NETWORK, body(), KEYS[2])


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"title": "   "}, ListingProblem.BAD_TEXT),
        ({"title": "Garden\x1b[31m help"}, ListingProblem.BAD_TEXT),
        ({"title": "line\nbreak"}, ListingProblem.BAD_TEXT),
        ({"topic": "\u202egnidrag"}, ListingProblem.BAD_TEXT),
        ({"text": "bell\x07"}, ListingProblem.BAD_TEXT),
        ({"expires_ms": NOW}, ListingProblem.BAD_TIMES),
        ({"expires_ms": NOW + MAX_LIFETIME_MS + 1}, ListingProblem.BAD_TIMES),
        ({"created_ms": NOW - 20 * DAY, "expires_ms": NOW - DAY}, ListingProblem.EXPIRED),
        ({"created_ms": NOW + CLOCK_SKEW_MS + 1, "expires_ms": NOW + DAY}, ListingProblem.FROM_THE_FUTURE),
    ],
)
def test_listing_rules(changes: dict[str, object], problem: ListingProblem) -> None:
    listing = build_listing(NETWORK, body(**changes), AUTHOR)
    assert check_item(listing, NOW) is problem
    assert problem.explanation
    assert problem.provable == (problem not in (ListingProblem.EXPIRED, ListingProblem.FROM_THE_FUTURE))


def test_listing_text_keeps_newlines_and_arabic() -> None:
    listing = build_listing(NETWORK, body(title="مساعدة في الحديقة", text="سطر\nسطر"), AUTHOR)
    assert check_item(listing, NOW) is None


def test_listing_sizes_are_capped_at_decoding() -> None:
    with pytest.raises(ValueError, match="could not be decoded"):
        build_listing(NETWORK, body(text="x" * (MAX_TEXT_CHARS + 1)), AUTHOR)
    listing = build_listing(NETWORK, body(), AUTHOR)
    oversize = codec.pack((1, listing.body_bytes + b"\x00" * 5000, listing.signature))
    with pytest.raises(DecodeError, match="over the limit"):
        decode_board_item(oversize, NETWORK)
    fields = list(codec.unpack(listing.body_bytes, max_size=4096))
    for index, bad in [(1, 2), (4, 99), (3, "hour"), (8, -1), (0, 2)]:
        mutated = list(fields)
        mutated[index] = bad
        with pytest.raises(DecodeError):
            decode_board_item(codec.pack((1, codec.pack(tuple(mutated)), listing.signature)), NETWORK)
    with pytest.raises(DecodeError, match="unknown type"):
        decode_board_item(codec.pack((3, listing.body_bytes, listing.signature)), NETWORK)


def test_withdrawal_round_trip_and_signature() -> None:
    listing = build_listing(NETWORK, body(), AUTHOR)
    withdrawal = build_withdrawal(NETWORK, AUTHOR, listing.id, NOW + 5)
    decoded = decode_board_item(withdrawal.encode(), NETWORK)
    assert decoded == withdrawal
    assert isinstance(decoded, Withdrawal)
    assert check_item(decoded, NOW) is None
    forged = dataclasses.replace(withdrawal, signature=KEYS[2].sign(withdrawal.id))
    assert check_item(forged, NOW) is ListingProblem.BAD_SIGNATURE


def test_board_batch_round_trip_and_caps() -> None:
    items = [build_listing(NETWORK, body(amount=n), AUTHOR).encode() for n in range(3)]
    assert decode_board_batch(encode_board_batch(items)) == tuple(items)
    with pytest.raises(DecodeError):
        decode_board_batch(encode_board_batch([]))
    with pytest.raises(DecodeError):
        decode_board_batch(encode_board_batch(items[:1] * (MAX_BATCH_ITEMS + 1)))


def _currency(kind: CurrencyKind, issuer: bytes = KEYS[0].public_key) -> Currency:
    return Currency("X", kind, 2, issuer, (issuer,), 1, 0, 0, 0, 0, 0)


def test_who_may_post() -> None:
    author = AUTHOR.public_key
    member = Holding(author, "X", 0, 0, Role.MEMBER)
    holder = Holding(author, "X", 0, 0, Role.HOLDER)
    for kind in (CurrencyKind.TIME, CurrencyKind.MUTUAL):
        assert may_post(_currency(kind), member, author)
        assert not may_post(_currency(kind), holder, author)
        assert not may_post(_currency(kind), None, author)
    assert may_post(_currency(CurrencyKind.ISSUED), holder, author)
    for shut_out in (Role.SUSPENDED, Role.EXPELLED):
        assert not may_post(_currency(CurrencyKind.ISSUED), Holding(author, "X", 0, 0, shut_out), author)
        assert not may_post(_currency(CurrencyKind.MUTUAL), Holding(author, "X", 0, 0, shut_out), author)
    assert may_post(_currency(CurrencyKind.ISSUED, issuer=author), None, author)
    assert not may_post(_currency(CurrencyKind.ISSUED), None, author)


def test_memo_links_a_payment_to_a_listing() -> None:
    listing = build_listing(NETWORK, body(), AUTHOR)
    ref = listing_ref(listing.id)
    assert len(ref) == 20
    memo = link_memo(ref, "gardening")
    assert memo == f"for:{ref} gardening"
    assert linked_ref(memo.encode()) == ref
    assert linked_ref(link_memo(ref).encode()) == ref
    for other in (
        b"gardening",
        b"for:" + ref.encode()[:19],
        b"for:" + ref.encode() + b"x",
        b"for:" + ref.upper().encode(),
    ):
        assert linked_ref(other) is None
    with pytest.raises(ValueError, match="listing reference"):
        link_memo("nothex")
