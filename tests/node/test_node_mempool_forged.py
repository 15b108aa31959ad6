"""Regression: a forged transaction (bad signature, or signed for another network) with a future
sequence number was queued without a signature check, squatting the sequence number of the
account's genuine transaction (refused as a duplicate) and gossiped on to peers."""

from __future__ import annotations

import nacl.utils

from node.mempool import Mempool
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import CreateCurrency, CurrencyKind
from protocol.state import MemoryState, encode_entry, new_account
from protocol.transactions import Transaction, TransactionBody, build_transaction, decode_transaction

NETWORK = network_id("Tally mempool test network")


def create_currency_tx(network: bytes, source: Keypair, seq: int, code: str) -> Transaction:
    body = TransactionBody(
        source.public_key,
        seq,
        1000,
        b"",
        (CreateCurrency(code, CurrencyKind.TIME, 2, (source.public_key,), 1, 10),),
    )
    return build_transaction(network, body, (source,))


def test_a_forged_future_transaction_is_refused_and_does_not_squat_the_sequence() -> None:
    owner = Keypair(nacl.utils.random(32))
    state = MemoryState()  # the owner's account is on the ledger: only such accounts queue ahead
    state.entries[new_account(owner.public_key).key] = encode_entry(new_account(owner.public_key))
    mempool = Mempool(state, 2)
    forged = decode_transaction(
        create_currency_tx(network_id("Another test network"), owner, 2, "EVIL").encode(), NETWORK
    )
    admission = mempool.add(forged)
    assert not admission.accepted
    assert admission.code == "bad_auth"
    genuine_2 = create_currency_tx(NETWORK, owner, 2, "HOUR")
    assert mempool.add(genuine_2).queued
    assert mempool.add(create_currency_tx(NETWORK, owner, 1, "LETS")).accepted
    assert genuine_2.hash in mempool
