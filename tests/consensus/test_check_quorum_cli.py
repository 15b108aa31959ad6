"""``tally check-quorum``: answers and explanations, the unknown answer under limits, bad input.

Answers come from a real child process (``node.quorum_process``), so those tests are marked slow;
bad input is refused before any process starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from node.cli import quorum

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    quorum.register(app)
    return app


APP = _app()


def _write(tmp_path: Path, name: str, data: object) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data) if name.endswith(".json") else str(data))
    return p


def _node(name: str, t: int, vals: list[str]) -> dict[str, object]:
    return {"id": name, "quorum_set": {"threshold": t, "validators": vals, "inner_sets": []}}


def _generated(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "generated.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "quorum_networks.py"), *args, "-o", str(out)], check=True
    )
    return out


def _json(path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    r = runner.invoke(APP, ["check-quorum", str(path), "--json", *extra])
    return r.exit_code, json.loads(r.output)


@pytest.mark.slow
def test_intersecting_keeps_the_old_keys_and_lists_no_critical_group(tmp_path: Path) -> None:
    f = _write(tmp_path, "ok.json", {"nodes": [_node(n, 3, list("ABCD")) for n in "ABCD"]})
    code, data = _json(f)
    assert code == 0
    assert {k: data[k] for k in ("intersecting", "split", "nodes", "has_quorum")} == {
        "intersecting": True,
        "split": None,
        "nodes": 4,
        "has_quorum": True,
    }
    assert data["critical"] == {"organisations": [], "validators": []}
    human = runner.invoke(APP, ["check-quorum", str(f)])
    assert human.exit_code == 0
    assert "no single organisation or validator can split" in human.output


@pytest.mark.slow
def test_split_prints_two_disjoint_quorums_and_no_threshold_fix_for_islands(tmp_path: Path) -> None:
    nodes = [
        _node("A", 2, ["A", "B"]),
        _node("B", 2, ["A", "B"]),
        _node("C", 2, ["C", "D"]),
        {"node": "D", "qset": {"t": 2, "v": ["C", "D"]}},
    ]
    f = _write(tmp_path, "split.json", {"nodes": nodes})
    code, data = _json(f)
    assert code == 1
    assert data["intersecting"] is False
    assert sorted(map(sorted, data["split"])) == [["A", "B"], ["C", "D"]]
    assert data["suggestion"] == {"changes": None}
    human = runner.invoke(APP, ["check-quorum", str(f)])
    assert human.exit_code == 1
    assert "quorum 1" in human.output
    assert "no threshold fix found" in human.output


@pytest.mark.slow
def test_split_of_organisations_gets_a_verified_threshold_raise(tmp_path: Path) -> None:
    f = _generated(tmp_path, "--orgs", "7", "--watchers", "5", "--split")
    code, data = _json(f)
    assert code == 1
    (change,) = data["suggestion"]["changes"]
    assert (change["path"], change["from"], change["to"]) == ([], 3, 4)
    assert len(change["nodes"]) == 21  # every validator shares the quorum set
    human = runner.invoke(APP, ["check-quorum", str(f)])
    assert "raise the top-level threshold from 3 to 4" in human.output


@pytest.mark.slow
def test_critical_organisations_and_validators(tmp_path: Path) -> None:
    """2 of 3 organisations: each organisation, and each validator, can split it alone."""
    f = _generated(tmp_path, "--orgs", "3", "--threshold", "2")
    code, data = _json(f)
    assert code == 0
    orgs = [g["members"] for g in data["critical"]["organisations"]]
    assert orgs == [[f"org{i:02d}-v{j}" for j in range(3)] for i in range(3)]
    assert len(data["critical"]["validators"]) == 9
    for group in data["critical"]["organisations"] + data["critical"]["validators"]:
        a, b = (set(side) for side in group["split"])
        assert a & b <= set(group["members"])


@pytest.mark.slow
def test_node_config_and_no_explain(tmp_path: Path) -> None:
    f = tmp_path / "node.toml"
    f.write_text('[consensus.quorum_set]\nthreshold = 3\nvalidators = ["A", "B", "C", "D"]\n')
    code, data = _json(f, "--no-explain")
    assert code == 0
    assert data == {"intersecting": True, "split": None, "nodes": 4, "has_quorum": True}


@pytest.mark.slow
def test_unknown_when_the_solver_runs_out_of_time(tmp_path: Path) -> None:
    """A random majority network is hard for the solver: under a 1 s limit the answer is unknown."""
    f = _generated(tmp_path, "--kind", "random", "--nodes", "60", "--members", "15")
    code, data = _json(f, "--time-limit", "1")
    assert code == 3
    assert data["intersecting"] is None
    assert data["split"] is None
    assert "time limit" in data["reason"]
    human = runner.invoke(APP, ["check-quorum", str(f), "--time-limit", "1"])
    assert human.exit_code == 3
    assert "UNKNOWN" in human.output


@pytest.mark.slow
def test_unknown_when_the_solver_runs_out_of_memory(tmp_path: Path) -> None:
    """400 nodes with 200-member quorum sets need far more than 64 MB of clauses."""
    f = _generated(tmp_path, "--kind", "random", "--nodes", "400", "--members", "200")
    code, data = _json(f, "--memory-limit", "64MB", "--time-limit", "30")
    assert code == 3
    assert data["intersecting"] is None
    assert "memory limit" in data["reason"]


def test_bad_input_exit_2(tmp_path: Path) -> None:
    orgs = [
        {"name": "a", "threshold": 1, "validators": ["A"], "inner_sets": ["b"]},
        {"name": "b", "threshold": 1, "validators": ["A"], "inner_sets": ["a"]},
    ]
    cases: dict[str, tuple[object, str]] = {
        "unknown.json": ({"nodes": [_node("A", 1, ["A", "X"])]}, "unknown node 'X'"),
        "threshold.json": ({"nodes": [_node("A", 3, ["A"])]}, "out of range"),
        "zero.json": ({"nodes": [_node("A", 0, ["A"])]}, "threshold 0 is out of range"),
        "dup.json": ({"nodes": [_node("A", 1, ["A"]), _node("A", 1, ["A"])]}, "listed twice"),
        "shape.json": ({"validators": []}, "expected"),
        "cycle.json": (
            {
                "organisations": orgs,
                "nodes": [{"id": "A", "quorum_set": {"threshold": 1, "inner_sets": ["a"]}}],
            },
            "cycle: a → b → a",
        ),
        "noorg.json": (
            {"nodes": [{"id": "A", "quorum_set": {"threshold": 1, "inner_sets": ["coop"]}}]},
            "unknown organisation 'coop'",
        ),
    }
    for name, (data, message) in cases.items():
        f = _write(tmp_path, name, data)
        r = runner.invoke(APP, ["check-quorum", str(f), "--json"])
        assert r.exit_code == 2, (name, r.output)
        assert message in json.loads(r.output)["message"], name
    garbage = tmp_path / "garbage.toml"
    garbage.write_text("this is = = not toml")
    assert runner.invoke(APP, ["check-quorum", str(garbage)]).exit_code == 2
    assert runner.invoke(APP, ["check-quorum", str(tmp_path / "missing.json")]).exit_code == 2
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested far too deeply" in runner.invoke(APP, ["check-quorum", str(deep)]).output


def test_a_100_mb_file_is_refused_before_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: no 100 MB written
    r = runner.invoke(APP, ["check-quorum", str(big), "--json"])
    assert r.exit_code == 2
    assert "100.0 MB; a network file may be at most 8 MB" in json.loads(r.output)["message"]


def test_bad_limits_exit_2(tmp_path: Path) -> None:
    f = _write(tmp_path, "ok.json", {"nodes": [_node("A", 1, ["A"])]})
    for args in (["--memory-limit", "lots"], ["--memory-limit", "10MB"], ["--time-limit", "0"]):
        r = runner.invoke(APP, ["check-quorum", str(f), *args])
        assert r.exit_code == 2, (args, r.output)
