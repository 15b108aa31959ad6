"""A ledger WriteBatch that fails half way writes nothing (regression: plyvel's default
``write_batch`` writes the puts made before an exception inside its ``with`` block, which left
a partial ledger — header, tx set, results — under a seq the chain never reached)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from node.chain import LedgerChain
from node.errors import StorageError
from node.faults.disk import FailingDisk
from node.metrics import NodeMetrics
from node.storage.store import LedgerStore
from protocol.hashing import network_id
from protocol.ledger import CloseValue, make_tx_set

NETWORK = network_id("Tally reliability test network")


def _close_next(chain: LedgerChain) -> None:
    last = chain.last
    tx_set = make_tx_set(last.hash, [])
    trio.run(chain.close, tx_set, CloseValue(tx_set.hash, last.close_time_ms + 1000, ()), [])


def _failure(chain: LedgerChain) -> str | None:
    return chain.write_failure


def test_failed_batch_leaves_no_partial_ledger_and_the_chain_resumes(tmp_path: Path) -> None:
    disk = FailingDisk()
    store = LedgerStore(tmp_path / "db", NETWORK, open_db=disk.open)
    chain = LedgerChain(store, NodeMetrics())
    _close_next(chain)
    before = chain.last.seq
    disk.failing = True
    with pytest.raises(StorageError, match="No space left"):
        _close_next(chain)
    assert _failure(chain) is not None
    assert chain.last.seq == before
    assert store.header(before + 1) is None  # not even the header of the failed ledger
    assert store.ledger_record(before + 1) is None
    disk.failing = False
    _close_next(chain)
    assert _failure(chain) is None
    assert chain.last.seq == before + 1
    store.close()
    reopened = LedgerStore(tmp_path / "db", NETWORK)
    assert reopened.last_header.seq == before + 1
    assert reopened.header(before + 2) is None
    reopened.close()
