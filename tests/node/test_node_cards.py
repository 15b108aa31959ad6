"""Three operators build one network without editing node.toml: each inits a validator, makes a
card, imports the others' cards; the configs then load, name each other, dial each other, keep
their comments, and pass ``tally check-quorum``. Altered or foreign cards and bad ids are refused
with exit 2 and leave the file as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli.app import app
from node.config import load_config
from protocol.addresses import decode_validator

runner = CliRunner()
PASSPHRASE = "Riverside time bank"


def _run(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.output)
    return parsed


def _operator(root: Path, name: str, ip: str) -> tuple[Path, dict[str, object]]:
    created = _run(
        "node",
        "init",
        "--dir",
        str(root / name),
        "--validator",
        "--network-passphrase",
        PASSPHRASE,
        "--listen",
        "/ip4/0.0.0.0/tcp/4100",
        "--announce",
        f"/ip4/{ip}/tcp/4100",
    )
    return Path(str(created["config"])), created


def _card(config: Path, out: Path) -> Path:
    result = runner.invoke(app, ["node", "card", "--config", str(config), "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_three_operators_exchange_cards_and_get_a_quorum_that_intersects(tmp_path: Path) -> None:
    ops = [
        _operator(tmp_path, name, ip)
        for name, ip in (("a", "203.0.113.1"), ("b", "203.0.113.2"), ("c", "203.0.113.3"))
    ]
    cards = [_card(config, tmp_path / f"{i}.card") for i, (config, _) in enumerate(ops)]
    for i, (config, _) in enumerate(ops):
        for j, card in enumerate(cards):
            if i != j:
                change = _run("node", "config", "import-card", str(card), "--config", str(config))
                assert change["added_validator"] is True
    for i, (config, _) in enumerate(ops):
        loaded = load_config(config)
        assert loaded.quorum_set is not None
        assert set(loaded.quorum_set.validators) == {decode_validator(str(c["node_id"])) for _, c in ops}
        assert loaded.quorum_set.threshold == 3, "⌊2·3/3⌋+1"
        others = [c for j, (_, c) in enumerate(ops) if j != i]
        assert loaded.bootstrap == tuple(
            f"/ip4/203.0.113.{j + 1}/tcp/4100/p2p/{c['peer_id']}" for j, (_, c) in enumerate(ops) if j != i
        )
        assert len(others) == 2
        assert "# Whom this node trusts" in config.read_text(), "comments are kept"
        assert loaded.announce == (f"/ip4/203.0.113.{i + 1}/tcp/4100",)
    for config, _ in ops:
        done = runner.invoke(app, ["check-quorum", str(config), "--json"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["intersecting"] is True


def test_a_card_is_what_the_node_announces(tmp_path: Path) -> None:
    config, created = _operator(tmp_path, "a", "203.0.113.1")
    result = runner.invoke(app, ["node", "card", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["node_id"] == created["node_id"]
    assert card["peer_id"] == created["peer_id"]
    assert card["addresses"] == [f"/ip4/203.0.113.1/tcp/4100/p2p/{created['peer_id']}"]
    loopback = _run("node", "init", "--dir", str(tmp_path / "local"), "--validator")
    refused = runner.invoke(app, ["node", "card", "--config", str(loopback["config"])])
    assert refused.exit_code == 2
    assert "announce" in refused.output


def _unchanged_after(config: Path, *args: str) -> str:
    before = config.read_text()
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert config.read_text() == before, "a refused edit leaves the file alone"
    return result.output


def test_altered_and_foreign_cards_are_refused(tmp_path: Path) -> None:
    config, _ = _operator(tmp_path, "a", "203.0.113.1")
    other, _ = _operator(tmp_path, "b", "203.0.113.2")
    card = json.loads(_card(other, tmp_path / "b.card").read_text())
    altered = dict(card, addresses=[card["addresses"][0].replace("203.0.113.2", "198.51.100.9")])
    (tmp_path / "altered.card").write_text(json.dumps(altered))
    assert "altered" in _unchanged_after(
        config, "node", "config", "import-card", str(tmp_path / "altered.card")
    )
    foreign_config = _run(
        "node", "init", "--dir", str(tmp_path / "f"), "--validator", "--announce", "/ip4/203.0.113.9/tcp/4100"
    )["config"]
    foreign = _card(Path(str(foreign_config)), tmp_path / "f.card")
    assert "another network" in _unchanged_after(config, "node", "config", "import-card", str(foreign))
    (tmp_path / "junk.card").write_text("{not json")
    assert "not JSON" in _unchanged_after(
        config, "node", "config", "import-card", str(tmp_path / "junk.card")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tlyv1nonsense"], "not a validator id"),
        (["{b}", "--peer", "/ip4/203.0.113.2/tcp/4100"], "/p2p/PEER_ID"),
        (["{b}", "--peer", "/ip4/203.0.113.2/tcp/4100/p2p/{a_peer}"], "belongs to peer"),
        (["{b}", "--threshold", "3"], "between 1 and 2"),
    ],
)
def test_add_validator_refuses_what_would_break_the_config(
    tmp_path: Path, args: list[str], message: str
) -> None:
    config, a = _operator(tmp_path, "a", "203.0.113.1")
    _, b = _operator(tmp_path, "b", "203.0.113.2")
    filled = [arg.format(b=b["node_id"], a_peer=a["peer_id"]) for arg in args]
    assert message in _unchanged_after(config, "node", "config", "add-validator", *filled)


def test_add_validator_by_id_and_address_with_a_chosen_threshold(tmp_path: Path) -> None:
    config, _ = _operator(tmp_path, "a", "203.0.113.1")
    _, b = _operator(tmp_path, "b", "203.0.113.2")
    peer = f"/ip4/203.0.113.2/tcp/4100/p2p/{b['peer_id']}"
    change = _run(
        "node",
        "config",
        "add-validator",
        str(b["node_id"]),
        "--peer",
        peer,
        "--threshold",
        "1",
        "--config",
        str(config),
    )
    assert change == {
        "config": str(config),
        "validator": b["node_id"],
        "added_validator": True,
        "added_peer": peer,
        "threshold": 1,
        "members": 2,
    }
    again = _run(
        "node", "config", "add-validator", str(b["node_id"]), "--peer", peer, "--config", str(config)
    )
    assert again["added_validator"] is False
    assert again["added_peer"] is None
    assert again["threshold"] == 2, "recomputed: ⌊2·2/3⌋+1"
    assert load_config(config).bootstrap == (peer,)
