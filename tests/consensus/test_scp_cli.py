"""``tally sim`` and ``tally check-quorum``: options, JSON shapes, determinism and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from node.cli import quorum, sim

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    sim.register(app)
    quorum.register(app)
    return app


APP = _app()
EXAMPLE = [
    "sim",
    "--nodes",
    "7",
    "--threshold",
    "5",
    "--byzantine",
    "2",
    "--byzantine-mode",
    "equivocate",
    "--latency-ms",
    "20",
    "--drop",
    "0.05",
    "--slots",
    "8",
    "--seed",
    "7",
    "--json",
]


def test_sim_json_is_deterministic_and_complete() -> None:
    first = runner.invoke(APP, EXAMPLE)
    second = runner.invoke(APP, EXAMPLE)
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    data = json.loads(first.output)
    for key in (
        "slots",
        "safety_violations",
        "slots_externalized_by_all_honest",
        "externalize_ms_p50",
        "externalize_ms_p99",
        "messages_per_slot",
        "seed",
    ):
        assert key in data
    assert data["slots"] == 8
    assert data["seed"] == 7
    assert data["safety_violations"] == 0
    assert data["slots_externalized_by_all_honest"] == 8


def test_sim_human_output_has_a_table_and_summary() -> None:
    r = runner.invoke(
        APP, ["sim", "--nodes", "4", "--slots", "2", "--partition", "0|1,2,3@0-500", "--crash", "3@10000"]
    )
    assert r.exit_code == 0, r.output
    assert "slot" in r.output
    assert "2/2 slots externalized" in r.output


def test_sim_exit_1_on_safety_violation() -> None:
    """2-of-4 quorums need not intersect: split {0,1} | {2,3} and each side decides on its own."""
    r = runner.invoke(
        APP,
        [
            "sim",
            "--nodes",
            "4",
            "--threshold",
            "2",
            "--partition",
            "0,1|2,3@0-10000",
            "--slots",
            "3",
            "--json",
        ],
    )
    assert r.exit_code == 1
    assert json.loads(r.output)["safety_violations"] > 0


def test_sim_exit_2_on_bad_options() -> None:
    for args in (
        ["--topology", "ring"],
        ["--byzantine-mode", "loud"],
        ["--partition", "0,1"],
        ["--crash", "9@100"],
        ["--nodes", "4", "--threshold", "9"],
    ):
        r = runner.invoke(APP, ["sim", *args])
        assert r.exit_code == 2, (args, r.output)


def _write(tmp_path: Path, name: str, data: object) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data) if name.endswith(".json") else str(data))
    return p


def _node(name: str, t: int, vals: list[str]) -> dict[str, object]:
    return {"id": name, "quorum_set": {"threshold": t, "validators": vals, "inner_sets": []}}


def test_check_quorum_intersecting(tmp_path: Path) -> None:
    f = _write(tmp_path, "ok.json", {"nodes": [_node(n, 3, list("ABCD")) for n in "ABCD"]})
    r = runner.invoke(APP, ["check-quorum", str(f), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"intersecting": True, "split": None, "nodes": 4, "has_quorum": True}


def test_check_quorum_split_prints_two_disjoint_quorums(tmp_path: Path) -> None:
    nodes = [
        _node("A", 2, ["A", "B"]),
        _node("B", 2, ["A", "B"]),
        _node("C", 2, ["C", "D"]),
        {"node": "D", "qset": {"t": 2, "v": ["C", "D"]}},
    ]
    f = _write(tmp_path, "split.json", {"nodes": nodes})
    r = runner.invoke(APP, ["check-quorum", str(f), "--json"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert data["intersecting"] is False
    assert sorted(map(sorted, data["split"])) == [["A", "B"], ["C", "D"]]
    human = runner.invoke(APP, ["check-quorum", str(f)])
    assert human.exit_code == 1
    assert "quorum 1" in human.output


def test_check_quorum_reads_a_node_config(tmp_path: Path) -> None:
    f = tmp_path / "node.toml"
    f.write_text('[consensus.quorum_set]\nthreshold = 3\nvalidators = ["A", "B", "C", "D"]\n')
    r = runner.invoke(APP, ["check-quorum", str(f), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["nodes"] == 4


def test_check_quorum_bad_input_exit_2(tmp_path: Path) -> None:
    cases = {
        "unknown.json": ({"nodes": [_node("A", 1, ["A", "X"])]}, "unknown node 'X'"),
        "threshold.json": ({"nodes": [_node("A", 3, ["A"])]}, "out of range"),
        "dup.json": ({"nodes": [_node("A", 1, ["A"]), _node("A", 1, ["A"])]}, "listed twice"),
        "shape.json": ({"validators": []}, "expected"),
    }
    for name, (data, message) in cases.items():
        f = _write(tmp_path, name, data)
        r = runner.invoke(APP, ["check-quorum", str(f), "--json"])
        assert r.exit_code == 2, (name, r.output)
        assert message in json.loads(r.output)["message"]
    garbage = tmp_path / "garbage.toml"
    garbage.write_text("this is = = not toml")
    assert runner.invoke(APP, ["check-quorum", str(garbage)]).exit_code == 2
    assert runner.invoke(APP, ["check-quorum", str(tmp_path / "missing.json")]).exit_code == 2


def test_help_has_examples() -> None:
    for cmd in ("sim", "check-quorum"):
        r = runner.invoke(APP, [cmd, "--help"])
        assert r.exit_code == 0
        assert "Examples" in r.output
