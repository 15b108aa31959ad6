"""Protocol version 1 is frozen: a fixed chain built only from version-1 operations hashes exactly
as it did before protocol versions existed.

The hashes below were recorded on the code of commit edd093f (before governance). If this test
fails, ledgers already stored by running networks would no longer verify: a change to version-1
behaviour must become a new protocol version instead.
"""

from __future__ import annotations

from protocol_support import KEYS, NETWORK, make_tx

from protocol.ledger import CloseValue, LedgerHeader, close_ledger, genesis_header, make_tx_set
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
)
from protocol.state import MemoryState, StateAccumulator
from protocol.transactions import Transaction

STEWARD, ISSUER, ALICE, BOB, CAROL, SPARE = KEYS[:6]


def _ledgers() -> list[tuple[list[Transaction], int, tuple[tuple[str, int], ...]]]:
    """(transactions, close time, upgrades) per ledger after genesis; every v1 operation, a
    failing operation, a transaction-level refusal and a parameter upgrade."""
    stewards = (STEWARD.public_key,)
    return [
        (
            [
                make_tx(
                    STEWARD,
                    1,
                    [
                        CreateCurrency("HOUR", CurrencyKind.TIME, 2, stewards, 1, 1000),
                        CreateCurrency("LETS", CurrencyKind.MUTUAL, 2, stewards, 1, 10_000, 50_000),
                    ],
                ),
                make_tx(
                    ISSUER, 1, [CreateCurrency("BRX", CurrencyKind.ISSUED, 2, (ISSUER.public_key,), 1, 0)]
                ),
            ],
            1_000,
            (),
        ),
        (
            [
                make_tx(
                    STEWARD,
                    2,
                    [
                        AdmitMember("HOUR", ALICE.public_key),
                        AdmitMember("HOUR", BOB.public_key, 500),
                        AdmitMember("LETS", ALICE.public_key),
                        AdmitMember("LETS", CAROL.public_key),
                        SetCreditLimit("HOUR", ALICE.public_key, 2000),
                    ],
                ),
                make_tx(
                    ISSUER, 2, [Mint("BRX", ALICE.public_key, 10_000), Mint("BRX", ISSUER.public_key, 300)]
                ),
            ],
            2_000,
            (("max_tx_set_size", 5000),),
        ),
        (
            [
                make_tx(ALICE, 1, [Payment(BOB.public_key, "HOUR", 150)], memo=b"gardening"),
                make_tx(
                    ALICE, 2, [Payment(CAROL.public_key, "LETS", 700), Payment(BOB.public_key, "BRX", 250)]
                ),
                make_tx(BOB, 1, [Payment(ALICE.public_key, "HOUR", 10_000)]),  # over the credit limit
                make_tx(CAROL, 5, [Payment(ALICE.public_key, "LETS", 1)]),  # bad sequence
                make_tx(ISSUER, 3, [Redeem("BRX", 100)]),
                make_tx(BOB, 2, [SetSigners(((BOB.public_key, 1), (SPARE.public_key, 1)), 2)]),
            ],
            3_500,
            (),
        ),
        (
            [make_tx(BOB, 3, [Payment(ALICE.public_key, "HOUR", 25)], signers=[BOB, SPARE])],
            60_000,
            (),
        ),
    ]


# Recorded on commit edd093f: the hash of each header after genesis, and the last state hash.
EXPECTED_HEADER_HASHES = [
    "abe8b85e472d31c9c89ac27cd6f0aeca10ff24eaa0d02b95d6d5b746bea2c72c",
    "6232b0b751a192be37667df2c88852a4dc93cf504d940afd6ab92c459b08c989",
    "ade56d89b8e3049617ebb325bd3f63897a0be6c784244a0361bf82ddafd24f8a",
    "0f94674381b006a8bfe0efd175f99ae63442a4daeaa8672329acc766355a70ea",
]
EXPECTED_STATE_HASH = "ba8e9196b47610715b2c86c414c7195ed82b6627bd8b2a31fe956df05154b433"
EXPECTED_GENESIS_HASH = "4dbc14f3b896102c9a2c41746b72ccb0c8c753d69908aaf0f0608cacc75fe0c4"


def _close_chain() -> tuple[LedgerHeader, list[LedgerHeader]]:
    state, accumulator = MemoryState(), StateAccumulator()
    genesis = previous = genesis_header(NETWORK)
    headers = []
    for transactions, close_time, upgrades in _ledgers():
        tx_set = make_tx_set(previous.hash, transactions)
        value = CloseValue(tx_set.hash, close_time, upgrades)
        closed = close_ledger(state, accumulator, previous, tx_set, value, lambda tx: tx.signers())
        state.apply(closed.changes)
        accumulator = closed.accumulator
        previous = closed.header
        headers.append(closed.header)
    return genesis, headers


def test_a_version_1_chain_hashes_as_it_always_did() -> None:
    genesis, headers = _close_chain()
    assert genesis.hash.hex() == EXPECTED_GENESIS_HASH
    assert [h.hash.hex() for h in headers] == EXPECTED_HEADER_HASHES
    assert headers[-1].state_hash.hex() == EXPECTED_STATE_HASH
