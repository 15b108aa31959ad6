"""Keys, text forms and recovery phrases: typos are caught, derivation is fixed, signatures are
bound to one network."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_support import KEYS, NETWORK, OTHER_NETWORK, make_tx

from protocol.addresses import (
    decode_account,
    decode_secret,
    decode_validator,
    encode_account,
    encode_secret,
    encode_validator,
    looks_like_address,
)
from protocol.amounts import format_amount, parse_amount
from protocol.errors import AddressError, AmountError, MnemonicError
from protocol.hashing import network_id
from protocol.keys import (
    LEGACY_DERIVATION_PATH,
    Keypair,
    _slip10_ed25519,
    keypair_from_mnemonic,
    mnemonic_from_entropy,
    normalize_mnemonic,
    seed_from_mnemonic,
    verify,
)
from protocol.operations import Payment
from protocol.transactions import Transaction

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

# ---------------------------------------------------------------------------------------------
# addresses


@pytest.mark.parametrize(
    ("encode", "decode"),
    [(encode_account, decode_account), (encode_validator, decode_validator), (encode_secret, decode_secret)],
)
def test_every_single_character_substitution_is_caught(encode, decode) -> None:  # type: ignore[no-untyped-def]
    key = KEYS[3].public_key
    text = encode(key)
    assert decode(text) == key
    separator = text.rfind("1")
    for position in range(len(text)):
        for replacement in sorted(set(CHARSET + "1bio" + text[position].upper()) - {text[position]}):
            typo = text[:position] + replacement + text[position + 1 :]
            with pytest.raises(AddressError) as caught:
                decode(typo)
            message = str(caught.value)
            if position > separator and replacement in CHARSET:
                # a valid character in the data part: only the checksum can tell, and it does
                assert "checksum" in message, (typo, message)
            else:
                assert message, typo


def test_address_error_messages_say_what_is_wrong() -> None:
    address = encode_account(KEYS[0].public_key)
    with pytest.raises(AddressError, match="checksum"):
        decode_account(address[:-1] + ("q" if address[-1] != "q" else "p"))
    with pytest.raises(AddressError, match="mistyped"):
        decode_account(address[:10] + "b" + address[11:])
    with pytest.raises(AddressError, match="mixes upper- and lower-case"):
        decode_account(address[:10] + address[10].upper() + address[11:])
    with pytest.raises(AddressError, match="validator id"):
        decode_account(encode_validator(KEYS[0].public_key))
    with pytest.raises(AddressError, match="secret seed"):
        decode_account(encode_secret(KEYS[0].seed))
    with pytest.raises(AddressError, match="empty"):
        decode_account("  ")
    with pytest.raises(AddressError, match="checksum"):
        decode_account(address[:-2])  # a character missing
    assert decode_account(address.upper()) == KEYS[0].public_key
    assert decode_account(f"  {address}\n") == KEYS[0].public_key
    assert looks_like_address(address)
    assert not looks_like_address("alice")


@settings(max_examples=50, deadline=None)
@given(key=st.binary(min_size=32, max_size=32))
def test_address_round_trip(key: bytes) -> None:
    assert decode_account(encode_account(key)) == key
    assert decode_validator(encode_validator(key)) == key
    assert decode_secret(encode_secret(key)) == key


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80) | st.text(alphabet=CHARSET + "1tlysv", max_size=80))
def test_random_text_raises_only_address_error(text: str) -> None:
    for decode in (decode_account, decode_validator, decode_secret):
        with contextlib.suppress(AddressError):
            decode(text)


# ---------------------------------------------------------------------------------------------
# recovery phrases


def test_slip10_matches_the_published_vector() -> None:
    # SLIP-0010 test vector 1 for ed25519 (seed 000102…0f): m, m/0', m/0'/1', m/0'/1'/2'
    seed = bytes(range(16))
    assert (
        _slip10_ed25519(seed, ()).hex() == "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7"
    )
    assert (
        _slip10_ed25519(seed, (0,)).hex()
        == "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3"
    )
    assert _slip10_ed25519(seed, (0, 1, 2)).hex() == (
        "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9"
    )


def test_mnemonic_derivation_vectors() -> None:
    """Fixed phrase → fixed key and address (BIP-39 seed, empty passphrase, then SLIP-0010
    m/44'/82559'/0'; see protocol/keys.py). Changing any of these breaks every wallet."""
    phrase = "abandon " * 23 + "art"
    assert (
        seed_from_mnemonic(phrase).hex() == "378d51d845b1103b8f15920e3474bc30370e3ee64f0c3afd37aa12c6fbfb794e"
    )
    assert encode_account(keypair_from_mnemonic(phrase).public_key) == (
        "tly1f84f4u8aa3yyanmq9equ0wskf2fr9ltkkgtzk5y7nvxcu5sf0qrsku5yy7"
    )
    phrase2 = mnemonic_from_entropy(bytes(range(32)))
    assert phrase2 == (
        "abandon amount liar amount expire adjust cage candy arch gather drum bullet absurd math "
        "era live bid rhythm alien crouch range attend journey unaware"
    )
    assert encode_account(keypair_from_mnemonic(phrase2).public_key) == (
        "tly1c0l4q8nfknx25r272c7v2gj4nvw4zkhumqgtnjp0m3d237u8uygqletqna"
    )
    # case and spacing do not matter
    assert seed_from_mnemonic("  " + phrase.upper().replace(" ", "   ") + "\n") == seed_from_mnemonic(phrase)


def test_legacy_path_gives_back_the_keys_of_wallets_made_before_the_change() -> None:
    """Words written down when Tally derived along m/44'/1729'/0' (Tezos's coin type) must keep
    opening the same accounts: these are the vectors of that time."""
    phrase = "abandon " * 23 + "art"
    assert LEGACY_DERIVATION_PATH == (44, 1729, 0)
    assert (
        seed_from_mnemonic(phrase, path=LEGACY_DERIVATION_PATH).hex()
        == "3488798b61d7ccebec400e556503731408681a69f0593b1a33423893efbe19a7"
    )
    phrase2 = mnemonic_from_entropy(bytes(range(32)))
    assert encode_account(Keypair(seed_from_mnemonic(phrase2, path=LEGACY_DERIVATION_PATH)).public_key) == (
        "tly10c8gqhfmjv0g8jkcpe078848cxl8640gvk4sfqjr3hglcrgycg3qpa78pk"
    )
    assert seed_from_mnemonic(phrase) != seed_from_mnemonic(phrase, path=LEGACY_DERIVATION_PATH)


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("abandon " * 23, "24 words"),
        ("abandon " * 24, "checksum"),
        ("abandon " * 22 + "tallyx art", "word 23"),
    ],
)
def test_bad_mnemonics_are_reported(phrase: str, message: str) -> None:
    with pytest.raises(MnemonicError, match=message):
        normalize_mnemonic(phrase)


# ---------------------------------------------------------------------------------------------
# signatures and network separation


def test_network_ids_differ_and_need_a_passphrase() -> None:
    assert network_id("a") != network_id("b")
    assert len(network_id("Tally public network")) == 32
    with pytest.raises(ValueError, match="empty"):
        network_id("")


def test_a_transaction_signed_for_network_a_does_not_verify_on_network_b() -> None:
    tx_a = make_tx(KEYS[0], 1, [Payment(KEYS[1].public_key, "LETS", 5)], network=NETWORK)
    assert tx_a.signers() == frozenset({KEYS[0].public_key})
    # what network B computes for the same bytes
    from protocol.transactions import decode_transaction

    on_b = decode_transaction(tx_a.encode(), OTHER_NETWORK)
    assert on_b.hash != tx_a.hash
    assert on_b.signers() is None
    assert decode_transaction(tx_a.encode(), NETWORK).signers() == frozenset({KEYS[0].public_key})


def test_verify_refuses_bad_inputs() -> None:
    key = Keypair(bytes(32))
    signature = key.sign(b"message")
    assert verify(key.public_key, b"message", signature)
    assert not verify(key.public_key, b"messagf", signature)
    assert not verify(key.public_key[:31], b"message", signature)
    assert not verify(key.public_key, b"message", signature[:63])
    assert not verify(bytes(32), b"message", signature)
    with pytest.raises(ValueError, match="32 bytes"):
        Keypair(bytes(31))
    assert "seed" not in repr(key)


def test_signature_list_replaces_a_signer() -> None:
    tx = make_tx(KEYS[0], 1, [Payment(KEYS[1].public_key, "LETS", 5)], signers=[KEYS[0], KEYS[2]])
    again = tx.with_signature(KEYS[2])
    assert len(again.signatures) == 2
    assert isinstance(again, Transaction)


# ---------------------------------------------------------------------------------------------
# amounts


@pytest.mark.parametrize(
    ("text", "decimals", "value"),
    [
        ("1.5", 2, 150),
        ("1.50", 2, 150),
        ("12", 0, 12),
        ("0.01", 2, 1),
        ("1_000", 0, 1000),
        (" 3.000 ", 2, 300),
    ],
)
def test_parse_amount(text: str, decimals: int, value: int) -> None:
    assert parse_amount(text, decimals) == value


@pytest.mark.parametrize(
    ("text", "decimals"),
    [
        ("1.499", 2),
        ("1.5", 0),
        ("", 2),
        ("abc", 2),
        ("-1", 2),
        ("0", 2),
        ("1e3", 2),
        ("99999999999999999999", 0),
        (".", 2),
        ("1.2.3", 2),
    ],
)
def test_parse_amount_refuses(text: str, decimals: int) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, decimals)


@settings(max_examples=100, deadline=None)
@given(value=st.integers(min_value=-(2**63 - 1), max_value=2**63 - 1), decimals=st.integers(0, 8))
def test_format_parse_round_trip(value: int, decimals: int) -> None:
    assert (
        parse_amount(format_amount(value, decimals), decimals, allow_zero=True, allow_negative=True) == value
    )


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=30))
def test_random_amount_text_raises_only_amount_error(text: str) -> None:
    with contextlib.suppress(AmountError):
        parse_amount(text, 2)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(max_size=200)
    | st.lists(
        st.sampled_from(["abandon", "art", "zoo", "wrong", "ability", "Able"]), min_size=23, max_size=25
    ).map(" ".join)
)
def test_random_phrases_raise_only_mnemonic_error(text: str) -> None:
    with contextlib.suppress(MnemonicError):
        assert len(seed_from_mnemonic(text)) == 32
