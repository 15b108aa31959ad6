"""Payment-request URIs: round trips, one text form per request, and strict refusal of everything
else (wrong scheme, unknown version or field, bad escapes, over-long input)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_support import KEYS, NETWORK, OTHER_NETWORK

from protocol.addresses import encode_account
from protocol.payreq import (
    MAX_URI_CHARS,
    PaymentRequest,
    RequestError,
    build_uri,
    network_tag,
    parse_uri,
)

ALICE = KEYS[1].public_key
TAG = network_tag(NETWORK)
ADDRESS = encode_account(ALICE)

amounts = st.builds(
    lambda whole, frac: f"{whole}.{frac}" if frac else str(whole),
    st.integers(1, 10**12),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=8)),
)
memos = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs", "Cn"),
        blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
    ),
    max_size=12,
)
requests = st.builds(
    PaymentRequest,
    recipient=st.sampled_from([k.public_key for k in KEYS]),
    network_tag=st.binary(min_size=8, max_size=8),
    currency=st.sampled_from(["HOUR", "LETS", "BRX", "A1"]),
    amount=st.one_of(st.none(), amounts),
    memo=memos,
    listing=st.one_of(st.none(), st.binary(min_size=10, max_size=10).map(bytes.hex)),
)


@given(requests)
def test_payreq_round_trip(request: PaymentRequest) -> None:
    uri = build_uri(request)
    assert len(uri) <= MAX_URI_CHARS
    assert parse_uri(uri) == request
    assert build_uri(parse_uri(uri)) == uri


@given(st.text(max_size=600))
def test_payreq_parse_raises_only_request_error(text: str) -> None:
    with contextlib.suppress(RequestError):
        parse_uri(text)


@given(requests, st.integers(0, 400), st.characters())
def test_payreq_mutated_uri_is_refused_or_still_valid(request: PaymentRequest, at: int, char: str) -> None:
    uri = build_uri(request)
    at %= len(uri)
    mutated = uri[:at] + char + uri[at + 1 :]
    try:
        parsed = parse_uri(mutated)
    except RequestError:
        return
    assert build_uri(parsed)  # whatever parses is a request the format can carry


def test_payreq_example_reads_as_documented() -> None:
    request = PaymentRequest(ALICE, TAG, "HOUR", "1.50", "gardening & more", "00112233445566778899")
    uri = build_uri(request)
    assert uri == (
        f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&amt=1.50&memo=gardening%20%26%20more"
        "&for=00112233445566778899"
    )
    assert parse_uri(uri.replace("tally:", "TALLY:")) == request
    assert parse_uri(f"  {uri}\n") == request


def test_payreq_pay_me_needs_only_address_and_network() -> None:
    request = parse_uri(f"tally:{ADDRESS}?v=1&net={TAG.hex()}")
    assert (request.currency, request.amount, request.memo, request.listing) == (None, None, "", None)
    assert request.for_network(NETWORK)
    assert not request.for_network(OTHER_NETWORK)


def test_payreq_keys_in_any_order_after_the_version() -> None:
    request = parse_uri(f"tally:{ADDRESS}?v=1&amt=2&cur=LETS&net={TAG.hex()}")
    assert (request.currency, request.amount) == ("LETS", "2")


def test_payreq_arabic_memo_round_trips() -> None:
    request = PaymentRequest(ALICE, TAG, "HOUR", "1", "بستنة")
    assert "%D8%A8" in build_uri(request)
    assert parse_uri(build_uri(request)).memo == "بستنة"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        (f"bitcoin:{ADDRESS}?v=1&net={TAG.hex()}", "starts with 'tally:'"),
        (f"tally:{ADDRESS}", "not a payment request"),
        (f"tally:tly1qqqq?v=1&net={TAG.hex()}", "recipient"),
        (f"tally:{ADDRESS.upper()}?v=1&net={TAG.hex()}", "lower case"),
        (f"tally:{ADDRESS}?v=2&net={TAG.hex()}", "version '2'"),
        (f"tally:{ADDRESS}?net={TAG.hex()}&v=1", "must come first"),
        (f"tally:{ADDRESS}?v=1", "network tag"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex().upper()}", "network tag"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&cur=LETS", "twice"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&fee=1", "unknown field 'fee'"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&amt=1", "needs a currency"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=hour", "currency code"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&amt=-1", "positive decimal"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&amt=0", "positive decimal"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&amt=01.5", "positive decimal"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&amt=1e3", "positive decimal"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur=HOUR&amt=1.123456789", "positive decimal"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&memo=a+b c", "must escape"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&memo=%FF", "UTF-8"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&memo=%1B%5B31m", "control characters"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&memo=%E2%80%AE", "direction overrides"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&memo=" + "a" * 65, "65 bytes"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&for=00112233", "listing reference"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&for=00112233445566778899&memo=" + "a" * 50, "with a listing"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&memo=" + "a" * 600, "at most 512 characters"),
        (f"tally:{ADDRESS}?v=1&net={TAG.hex()}&cur", "key=value"),
    ],
)
def test_payreq_refuses_bad_uris_with_a_reason(uri: str, says: str) -> None:
    with pytest.raises(RequestError, match=None) as caught:
        parse_uri(uri)
    assert says in str(caught.value)


def test_payreq_builder_refuses_what_the_format_cannot_carry() -> None:
    with pytest.raises(RequestError, match="needs a currency"):
        build_uri(PaymentRequest(ALICE, TAG, None, "1"))
    with pytest.raises(RequestError, match="network tag"):
        build_uri(PaymentRequest(ALICE, b"\x00" * 4))
