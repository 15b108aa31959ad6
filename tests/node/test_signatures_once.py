"""Each signature is checked once per node (issue 18): a transaction verified in a fetched tx set,
queued ahead of its sequence, or refused as forged is not verified again when it comes back
(by gossip, at promotion, when the batch's verdict is judged, in the ledger's close)."""

from __future__ import annotations

import nacl.utils
import pytest
from test_node_mempool_forged import create_currency_tx

from node.mempool import Mempool
from node.signatures import VerifiedSignatures
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.state import MemoryState, encode_entry, new_account
from protocol.transactions import Transaction, decode_transaction

NETWORK = network_id("Tally signature memory test")


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The hashes of transactions whose signatures were actually checked, in order."""
    seen: list[bytes] = []
    real = Transaction.signers

    def counting(self: Transaction) -> frozenset[bytes] | None:
        seen.append(self.hash)
        return real(self)

    monkeypatch.setattr(Transaction, "signers", counting)
    return seen


def _ledger_account() -> tuple[MemoryState, Keypair]:
    owner = Keypair(nacl.utils.random(32))
    state = MemoryState()  # on the ledger: may queue ahead
    state.entries[new_account(owner.public_key).key] = encode_entry(new_account(owner.public_key))
    return state, owner


def test_a_result_is_remembered_valid_or_not(checks: list[bytes]) -> None:
    memory = VerifiedSignatures()
    owner = Keypair(nacl.utils.random(32))
    good = create_currency_tx(NETWORK, owner, 1, "HOUR")
    forged = decode_transaction(
        create_currency_tx(network_id("another network"), owner, 1, "EVIL").encode(), NETWORK
    )
    for _ in range(3):
        assert memory.signers(good) == frozenset({owner.public_key})
        assert memory.signers(forged) is None
        assert memory.lookup(good) == frozenset({owner.public_key})
    assert checks == [good.hash, forged.hash]


def test_another_copy_with_other_signatures_is_checked_afresh(checks: list[bytes]) -> None:
    memory = VerifiedSignatures()
    owner, other = Keypair(nacl.utils.random(32)), Keypair(nacl.utils.random(32))
    tx = create_currency_tx(NETWORK, owner, 1, "HOUR")
    assert memory.signers(tx) == frozenset({owner.public_key})
    cosigned = tx.with_signature(other)
    assert cosigned.hash == tx.hash
    assert memory.signers(cosigned) == frozenset({owner.public_key, other.public_key})
    assert checks == [tx.hash, tx.hash]


def test_the_memory_is_bounded_and_forgets_included_transactions(checks: list[bytes]) -> None:
    memory = VerifiedSignatures(capacity=2)
    owner = Keypair(nacl.utils.random(32))
    txs = [create_currency_tx(NETWORK, owner, seq, "HOUR") for seq in (1, 2, 3)]
    for tx in txs:
        memory.signers(tx)
    assert len(memory) == 2
    memory.forget([txs[2].hash])
    assert len(memory) == 1
    memory.signers(txs[1])  # still known
    assert checks == [t.hash for t in txs]


def test_a_queued_transaction_is_not_checked_again_when_it_is_promoted(checks: list[bytes]) -> None:
    state, owner = _ledger_account()
    mempool = Mempool(state, 2)
    later, first = (
        create_currency_tx(NETWORK, owner, 2, "HOUR"),
        create_currency_tx(NETWORK, owner, 1, "LETS"),
    )
    assert mempool.add(later).queued
    assert mempool.add(first).accepted
    assert later.hash in mempool
    assert mempool.get(later.hash) is not None
    assert sorted(checks) == sorted([later.hash, first.hash])


def test_a_transaction_checked_in_a_fetched_tx_set_is_not_checked_again(checks: list[bytes]) -> None:
    state, owner = _ledger_account()
    mempool = Mempool(state, 2)
    tx = create_currency_tx(NETWORK, owner, 1, "HOUR")
    assert mempool.signers_of(tx) == frozenset({owner.public_key})  # the herder's tx-set check
    assert mempool.add(tx).accepted  # its gossip arrives afterwards
    assert mempool.signers_for_close(tx) == frozenset({owner.public_key})  # the ledger's apply
    assert checks == [tx.hash]


def test_a_forged_transaction_is_checked_once(checks: list[bytes]) -> None:
    state, owner = _ledger_account()
    mempool = Mempool(state, 2)
    forged = decode_transaction(
        create_currency_tx(network_id("another network"), owner, 1, "EVIL").encode(), NETWORK
    )
    assert mempool.add(forged).code == "bad_auth"
    assert mempool.signers_of(forged) is None  # the peer service telling forged from under-signed
    assert checks == [forged.hash]
