"""The governance command lines of issue 14, exactly as written there, against a real testnet
(real node processes): a members-governed currency, a proposal, votes (a second vote and a
non-member's refused with exit 1), the count at the deadline, and the new default limit."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

TALLY = [sys.executable, "-c", "from node.cli.app import main; main()"]

# Copied verbatim from the issue (ADDRESS, ID and the vote are filled in below).
CONTRACT = """
tally currency create DEMOS --kind mutual --credit-limit 10 --governance members --voting-period 30s --quorum-pct 50 --majority-pct 50 --wallet steward --wait
tally currency admit DEMOS ADDRESS --wallet steward --wait
tally proposal create --currency DEMOS --set-default-credit-limit 20 --wallet alice --wait --json
tally proposal vote ID yes|no|abstain --wallet bob --wait
tally proposal show ID --json
tally currency info DEMOS --json
""".strip().splitlines()


def _tally(line: str, env: dict[str, str], **fill: str) -> subprocess.CompletedProcess[str]:
    for name, value in fill.items():
        line = line.replace(name, value)
    args = shlex.split(line)
    assert args[0] == "tally"
    return subprocess.run(
        [*TALLY, *args[1:]], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _decided(show: str, env: dict[str, str], proposal: str, deadline_ms: int) -> dict[str, Any]:
    """The proposal once counted. Nothing is sent meanwhile: the nodes close a ledger at the
    deadline by themselves."""
    time.sleep(max(0.0, deadline_ms / 1000 - time.time()) + 1)
    stop = time.monotonic() + 20
    while (found := json.loads(_tally(show, env, ID=proposal).stdout))["status"] == "open":
        assert time.monotonic() < stop, "no ledger closed at the proposal's deadline"
        time.sleep(0.5)
    assert isinstance(found, dict)
    return found


@pytest.mark.slow
def test_the_issues_command_lines_on_a_real_testnet(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TALLY_HOME": str(tmp_path / "home"),
        "TALLY_PASSWORD": "tally-testnet-only",
        "TALLY_INSECURE_FAST_KDF": "1",
    }
    folder = tmp_path / "net"
    up = _tally(f"tally testnet up --validators 3 --dir {folder} --json", env)
    try:
        assert up.returncode == 0, up.stderr
        summary = json.loads(up.stdout)
        assert summary["demo"]["demo_payment"]["memo"] == "gardening"
        assert summary["demo"]["proposal"] == "HOUR-2", "HOUR-1 is the steward's hand-over to the members"
        demo = json.loads(_tally("tally proposal show HOUR-2 --json", env).stdout)
        assert (demo["status"], demo["yes"]) == ("open", 1), "the demo community has an open proposal"

        create, admit, propose, vote, show, info = CONTRACT
        assert _tally(create, env).returncode == 0
        for name in ("alice", "bob", "carol"):
            address = summary["demo"]["wallets"][name]
            done = _tally(admit, env, ADDRESS=address)
            assert done.returncode == 0, done.stderr
        made = _tally(propose, env)
        assert made.returncode == 0, made.stderr
        proposal = json.loads(made.stdout)["proposal"]
        assert proposal == "DEMOS-1"

        assert _tally(vote, env, ID=proposal, **{"yes|no|abstain": "yes"}).returncode == 0
        second = _tally(vote, env, ID=proposal, **{"yes|no|abstain": "no"})
        assert second.returncode == 1, "a second vote is refused"
        assert "already_voted" in second.stderr
        stranger = _tally(
            vote.replace("--wallet bob", "--wallet steward"), env, ID=proposal, **{"yes|no|abstain": "yes"}
        )
        assert stranger.returncode == 1, "a non-member's vote is refused"
        assert "not_member" in stranger.stderr
        unknown = _tally(vote, env, ID="DEMOS-9", **{"yes|no|abstain": "yes"})
        assert unknown.returncode == 1
        assert "no_proposal" in unknown.stderr
        abstain = _tally(
            vote.replace("--wallet bob", "--wallet carol"), env, ID=proposal, **{"yes|no|abstain": "abstain"}
        )
        assert abstain.returncode == 0

        # more of the CLI: a proposal with several actions (a levy, a fund that may owe, a payout
        # from it, admission by vouching), voted on while the first one runs (each waits out a real
        # 30 s voting period: in turn they took a minute); after both, vouching a newcomer in and
        # letting them leave
        many = _tally(
            "tally proposal create --currency DEMOS --levy 1 --fund-credit-limit 5 --pay-from-fund carol=2 "
            "--admission vouch:2 --title 'Budget and vouching' --wallet bob --wait --json",
            env,
        )
        assert many.returncode == 0, many.stderr
        second_id = json.loads(many.stdout)["proposal"]
        assert second_id == "DEMOS-2"
        for voter in ("alice", "bob"):
            assert _tally(f"tally proposal vote {second_id} yes --wallet {voter} --wait", env).returncode == 0

        shown = json.loads(_tally(show, env, ID=proposal).stdout)
        assert {k: shown[k] for k in ("status", "yes", "no", "abstain")} == {
            "status": "open",
            "yes": 1,
            "no": 0,
            "abstain": 1,
        }
        shown = _decided(show, env, proposal, shown["deadline"])
        assert {k: shown[k] for k in ("status", "yes", "no", "abstain")} == {
            "status": "passed",
            "yes": 1,
            "no": 0,
            "abstain": 1,
        }
        late = _tally(
            vote.replace("--wallet bob", "--wallet alice"), env, ID=proposal, **{"yes|no|abstain": "yes"}
        )
        assert late.returncode == 1
        assert "voting_closed" in late.stderr
        currency = json.loads(_tally(info, env).stdout)
        assert (currency["default_credit_limit"], currency["decimals"]) == (2000, 2)
        assert currency["governance"] == "members"

        deadline_ms = json.loads(_tally(show, env, ID=second_id).stdout)["deadline"]
        budget = _decided(show, env, second_id, deadline_ms)
        assert budget["status"] == "passed", budget
        fund = json.loads(_tally("tally currency fund DEMOS --json", env).stdout)
        assert (fund["balance"], fund["credit_limit"], fund["levy_ppm"]) == (-200, 500, 10_000)
        newcomer = summary["demo"]["wallets"]["steward"]
        assert _tally(f"tally currency vouch DEMOS {newcomer} --wallet alice --wait", env).returncode == 0
        assert _tally(f"tally currency vouch DEMOS {newcomer} --wallet alice --wait", env).returncode == 1
        assert _tally(f"tally currency vouch DEMOS {newcomer} --wallet bob --wait", env).returncode == 0
        members = json.loads(_tally("tally currency members DEMOS --json", env).stdout)
        roles = {m["address"]: m["role"] for m in members["items"]}
        assert roles[newcomer] == "member"
        assert set(roles.values()) == {"member", "fund"}
        assert _tally("tally currency leave DEMOS --wallet steward --wait", env).returncode == 0
        listed = json.loads(_tally("tally proposal list --currency DEMOS --json", env).stdout)
        assert [p["proposal"] for p in listed["items"]] == ["DEMOS-2", "DEMOS-1"]
    finally:
        _tally(f"tally testnet down --dir {folder} --json", env)
