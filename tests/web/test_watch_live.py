"""``tally watch`` against a real node's HTTP server on 127.0.0.1: the CLI (in a worker thread)
follows the account's event stream while the test closes ledgers, and prints exactly the account's
payments, as JSON lines, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from typer.testing import CliRunner, Result
from web_node import lone_node, seed_community

from node.api.app import create_app
from node.api.limits import ApiLimits
from node.api.server import hypercorn_config, serve_api
from node.cli.app import app as tally
from protocol.addresses import encode_account
from protocol.operations import Payment


async def test_watch_follows_a_real_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TALLY_NODE", raising=False)
    async with lone_node(tmp_path / "node") as node:
        c = await seed_community(node)
        bob = encode_account(c.bob.public_key)
        first = node.chain.last.seq + 1
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                serve_api,
                create_app(node.api, explorer=node.api),
                hypercorn_config("127.0.0.1:0", ApiLimits()),
            )
            done = trio.Event()
            results: list[Result] = []

            async def watch() -> None:
                args = ["watch", bob, "--node", url, "--from-ledger", str(first), "--count", "2", "--json"]
                # abandoned on cancel: a stuck watch fails the test instead of hanging it
                # (trio-typing's stubs, which shadow trio's, lack the keyword)
                run = trio.to_thread.run_sync
                results.append(await run(lambda: CliRunner().invoke(tally, args), abandon_on_cancel=True))  # type: ignore[call-arg]
                done.set()

            nursery.start_soon(watch)
            await c.run(c.alice, Payment(c.bob.public_key, "HOUR", 150), memo=b"gardening")
            await c.run(c.carol, Payment(c.alice.public_key, "HOUR", 20))  # not bob's
            await c.run(c.bob, Payment(c.carol.public_key, "LETS", 75))
            with trio.fail_after(30):
                await done.wait()
            nursery.cancel_scope.cancel()
    (result,) = results
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(p["direction"], p["currency"], p["amount_text"], p["memo"]) for p in printed] == [
        ("in", "HOUR", "1.50 h", "gardening"),
        ("out", "LETS", "0.75 LETS", ""),
    ]
    assert [p["ledger"] for p in printed] == [first, first + 2]
