"""``tally node quorum``: the table, --json, exit codes (the node's answer is faked)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from node.cli import quorum_health_cmd

runner = CliRunner()
ANSWER: dict[str, Any] = {
    "ledger": 42,
    "validators": [{"id": "tlyv1bbb", "state": "agree"}, {"id": "tlyv1ccc", "state": "missing"}],
    "agree": 1,
    "missing": 1,
    "delayed": 0,
    "disagree": 0,
    "fail_at": 1,
    "survivable_failures": 0,
    "blocked": False,
    "transitive": {"nodes": 3, "unknown_quorum_sets": 0, "intersecting": True, "split": None, "reason": None},
}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    quorum_health_cmd.register(app)
    return app


def _serve(monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any]) -> None:
    def fake_get(url: str, timeout: float) -> httpx.Response:
        assert url == "http://127.0.0.1:8080/quorum"
        return httpx.Response(200, json=answer, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)


def test_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(monkeypatch, ANSWER)
    r = runner.invoke(_app(), ["quorum"])
    assert r.exit_code == 0, r.output
    assert "tlyv1ccc" in r.output
    assert "survives 0 more validator failures" in r.output
    assert "every two quorums intersect" in r.output
    j = runner.invoke(_app(), ["quorum", "--json"])
    assert json.loads(j.output) == ANSWER


def test_split_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    split = {**ANSWER, "transitive": {**ANSWER["transitive"], "intersecting": False, "split": [["a"], ["b"]]}}
    _serve(monkeypatch, split)
    r = runner.invoke(_app(), ["quorum"])
    assert r.exit_code == 1
    assert "CAN SPLIT" in r.output


def test_unreachable_node_exits_3() -> None:
    r = runner.invoke(_app(), ["quorum", "--api", "http://127.0.0.1:9", "--json"])
    assert r.exit_code == 3
    assert json.loads(r.output)["error"] == "node_unreachable"
