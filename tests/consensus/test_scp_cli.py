"""``tally sim`` (and the help of ``tally check-quorum``): options, JSON shapes, determinism and exit codes.

``check-quorum`` itself: tests/consensus/test_check_quorum_cli.py.
"""

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


def test_help_has_examples() -> None:
    for cmd in ("sim", "check-quorum"):
        r = runner.invoke(APP, [cmd, "--help"])
        assert r.exit_code == 0
        assert "Examples" in r.output


def test_sim_organisations_and_watchers_json() -> None:
    r = runner.invoke(
        APP, ["sim", "--orgs", "4", "--watchers", "3", "--latency-ms", "100", "--slots", "2", "--json"]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["nodes"], data["watchers"], data["topology"]) == (12, 3, "orgs")
    assert data["slots_externalized_by_all_honest"] == 2
    assert data["externalize_ms_p99"] >= 400  # 100 ms one way: several round trips


def test_sim_network_file(tmp_path: Path) -> None:
    nodes = [{"id": x, "quorum_set": {"threshold": 3, "validators": list("ABCD")}} for x in "ABCD"]
    nodes.append({"id": "W", "quorum_set": {"threshold": 2, "validators": ["A", "B"]}})
    f = tmp_path / "net.json"
    f.write_text(json.dumps({"nodes": nodes}))
    r = runner.invoke(APP, ["sim", "--network", str(f), "--slots", "2", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["nodes"], data["watchers"], data["topology"]) == (4, 1, "network")
    bad = runner.invoke(APP, ["sim", "--network", str(f), "--nodes", "4"])
    assert bad.exit_code == 2
    missing = runner.invoke(APP, ["sim", "--network", str(tmp_path / "nope.json"), "--json"])
    assert missing.exit_code == 2
    assert "cannot read" in json.loads(missing.output)["message"]
