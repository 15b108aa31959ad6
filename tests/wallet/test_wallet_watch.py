"""``tally watch`` over a scripted node: the event-stream parser, payments printed in units (human and
JSON lines), resuming with Last-Event-ID after a broken connection with a growing pause, a gap
notice, and exit 0 on Ctrl-C."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import Cli

from protocol.addresses import encode_account
from protocol.keys import Keypair
from wallet.cli import common, watch_cmd
from wallet.errors import BadResponse
from wallet.events import MAX_LINE, SseEvent, parse_sse

BOB = encode_account(Keypair(b"\x02" * 32).public_key)
ALICE = encode_account(Keypair(b"\x01" * 32).public_key)
HOUR = {
    "code": "HOUR", "kind": "time", "decimals": 2, "issuer": ALICE, "stewards": [ALICE],
    "steward_threshold": 1, "default_credit_limit": 1000, "max_balance": 0, "supply": 0,
    "members": 2, "demurrage_ppm": 0,
}  # fmt: skip


def test_parse_sse_events_comments_and_multiline_data() -> None:
    lines = [
        "retry: 3000", "", ": keep-alive", "", "id: 5.1", "event: tx", "data: {\"a\":", "data: 1}", "",
        "data: no id or name", "", "id: 6.0", "event: ledger", "",
    ]  # fmt: skip
    assert list(parse_sse(lines)) == [
        SseEvent("5.1", "tx", '{"a":\n1}'),
        SseEvent("5.1", "message", "no id or name"),  # the last id stays until a new one comes
        SseEvent("6.0", "id", ""),  # an id without data still moves where to resume
    ]
    with pytest.raises(BadResponse):
        list(parse_sse(["data: " + "x" * MAX_LINE]))


def _tx_event(
    seq: int, index: int, sender: str, to: str, amount: int, memo: str = "", code: str = "ok"
) -> str:
    data = {
        "hash": f"{seq:064x}", "source": sender, "seq": 1, "last_valid_ledger": 100, "memo": memo,
        "operations": [{"type": "payment", "from": sender, "to": to, "currency": "HOUR", "amount": amount}],
        "signature_count": 1, "ledger": seq, "index": index, "close_time_ms": 1_790_000_000_000,
        "code": code, "explanation": "", "op_index": None,
    }  # fmt: skip
    return f"id: {seq}.{index + 1}\nevent: tx\ndata: {json.dumps(data)}\n\n"


class ScriptedNode:
    """Answers /currencies/HOUR, and /events from a list of scripted connections: each is a list
    of chunks, or an exception raised when the connection is made."""

    def __init__(self, connections: list[Any]) -> None:
        self.connections = connections
        self.resumed_from: list[str | None] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/currencies/HOUR":
            return httpx.Response(200, json=HOUR)
        assert request.url.path == "/events"
        assert request.url.params["account"] == BOB
        self.resumed_from.append(request.headers.get("last-event-id"))
        script = self.connections.pop(0)
        if isinstance(script, BaseException):
            raise script

        def chunks() -> Iterator[bytes]:
            for chunk in script:
                if isinstance(chunk, BaseException):
                    raise chunk
                yield chunk.encode()

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=chunks())


@pytest.fixture
def scripted(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> tuple[Cli, list[float]]:
    pauses: list[float] = []
    monkeypatch.setattr(watch_cmd, "sleep", pauses.append)
    return cli, pauses


def _serve(monkeypatch: pytest.MonkeyPatch, node: ScriptedNode) -> None:
    transport = httpx.MockTransport(node.handle)
    monkeypatch.setattr(common, "HTTP_FACTORY", lambda url: httpx.Client(transport=transport, base_url=url))


def test_watch_prints_payments_and_resumes_after_a_broken_connection(
    scripted: tuple[Cli, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, pauses = scripted
    node = ScriptedNode(
        [
            ["retry: 3000\n\n", _tx_event(7, 0, ALICE, BOB, 150, "gardening"), httpx.ReadError("reset")],
            httpx.ConnectError("refused"),
            [
                ": keep-alive\n\n",
                _tx_event(8, 2, BOB, ALICE, 25, code="over_credit_limit"),
                "id: 8.99\n\n",
            ],
            [_tx_event(9, 0, ALICE, BOB, 5)],
        ]
    )
    _serve(monkeypatch, node)
    result = cli("watch", BOB, "--count", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "ledger 7  +1.50 h  from " + ALICE in lines[0]
    assert lines[0].endswith('"gardening"')
    assert "-0.25 h  to " + ALICE in lines[1]
    assert lines[1].endswith("(failed: over_credit_limit)")
    assert "+0.05 h" in lines[2]
    # resumed after the last event printed; after a clean end, where the node said
    assert node.resumed_from == [None, "7.1", "7.1", "8.99"]
    assert pauses == [
        1.0,
        2.0,
        watch_cmd.RESUME_S,
    ]  # growing pauses after errors, a short one after a clean end
    assert "reconnecting in 1 s" in result.stderr


def test_watch_json_lines_and_gap_notice(
    scripted: tuple[Cli, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, _ = scripted
    gap = 'id: 2000.4294967296\nevent: gap\ndata: {"from":5,"to":999,"message":"reload"}\n\n'
    node = ScriptedNode([[gap, _tx_event(2001, 0, ALICE, BOB, 150, "soup")]])
    _serve(monkeypatch, node)
    result = cli("watch", BOB, "--from-ledger", "5", "--count", "1", "--json")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert {k: data[k] for k in ("direction", "from", "to", "amount", "amount_text", "memo", "ledger", "event_id")} == {
        "direction": "in", "from": ALICE, "to": BOB, "amount": 150, "amount_text": "1.50 h", "memo": "soup",
        "ledger": 2001, "event_id": "2001.1",
    }  # fmt: skip
    assert "ledgers 5 to 999 were too far back" in result.stderr
    assert node.resumed_from == ["4"]  # after ledger 4: from ledger 5 on


def test_watch_ctrl_c_exits_0(scripted: tuple[Cli, list[float]], monkeypatch: pytest.MonkeyPatch) -> None:
    cli, _ = scripted
    _serve(monkeypatch, ScriptedNode([[_tx_event(7, 0, ALICE, BOB, 1), KeyboardInterrupt()]]))
    result = cli("watch", BOB)
    assert result.exit_code == 0, result.output
    assert "+0.01 h" in result.stdout


def test_watch_bad_usage(scripted: tuple[Cli, list[float]]) -> None:
    cli, _ = scripted
    assert cli("watch", BOB, "--count", "0").exit_code == 2
    assert cli("watch", BOB, "--from-ledger", "0").exit_code == 2
    assert cli("watch", "tly1nope").exit_code == 2
