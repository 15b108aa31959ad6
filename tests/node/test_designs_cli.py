"""The designs of issue 15 end to end on a real testnet (real node processes, the real CLI): the
spend-locally command lines exactly as the issue writes them, the demo's guaranteed care credits
and spend-locally pound, an exchange between two communities (beyond its limit and at a stale rate
refused), and a key recovered by guardians after its delay."""

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
RECOVERY_DELAY_S = 30

# Copied verbatim from the issue (ADDRESS is filled in below).
CONTRACT = """
tally currency create PND --kind issued --accept registered --wallet brx-issuer --wait
tally currency register PND ADDRESS --name "Corner Shop" --wallet brx-issuer --wait
tally currency mint PND ADDRESS 50 --wallet brx-issuer --wait   # as today: CODE TO AMOUNT; minting to anyone is allowed
tally send ADDRESS 5 PND --wallet alice --wait     # exit 1 when ADDRESS is not a registered business
""".strip().splitlines()


class Tally:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, line: str, **fill: str) -> subprocess.CompletedProcess[str]:
        for name, value in fill.items():
            line = line.replace(name, value)
        args = shlex.split(line, comments=True)
        assert args[0] == "tally"
        return subprocess.run(
            [*TALLY, *args[1:]], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def ok(self, line: str, **fill: str) -> subprocess.CompletedProcess[str]:
        done = self(line, **fill)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done

    def json(self, line: str, **fill: str) -> Any:
        return json.loads(self.ok(line + " --json", **fill).stdout)

    def refused(self, line: str, code: str, **fill: str) -> None:
        done = self(line, **fill)
        assert done.returncode == 1, f"{line}\n{done.stdout}\n{done.stderr}"
        assert code in done.stderr, done.stderr


@pytest.mark.slow
def test_the_designs_on_a_real_testnet(tmp_path: Path) -> None:
    tally = Tally(
        {
            **os.environ,
            "TALLY_HOME": str(tmp_path / "home"),
            "TALLY_PASSWORD": "tally-testnet-only",
            "TALLY_INSECURE_FAST_KDF": "1",
            "TALLY_I_UNDERSTAND_WEAK_KEYS": "1",
        }
    )
    folder = tmp_path / "net"
    up = tally(f"tally testnet up --validators 3 --dir {folder} --json")
    try:
        assert up.returncode == 0, up.stderr
        wallets = json.loads(up.stdout)["demo"]["wallets"]
        _spend_locally(tally, wallets)
        _guaranteed_credits(tally)
        _exchange(tally)
        _recovery(tally, wallets)
    finally:
        tally(f"tally testnet down --dir {folder}")


def _spend_locally(tally: Tally, wallets: dict[str, str]) -> None:
    demo = tally.json("tally currency businesses LOCAL")
    assert sorted(b["name"] for b in demo["businesses"]) == ["Bakery", "Corner Shop"]
    create, register, mint, send = CONTRACT
    shop, stranger = wallets["corner-shop"], wallets["bob"]
    tally.ok(create)
    tally.ok(register, ADDRESS=shop)
    tally.ok(mint, ADDRESS=wallets["alice"])  # people buy the pound from its issuer…
    tally.ok(mint, ADDRESS=stranger)  # …anyone may be minted to
    tally.ok(send, ADDRESS=shop)
    refused = tally(send, ADDRESS=stranger)
    assert refused.returncode == 1, refused.stderr
    assert "not_registered" in refused.stderr
    assert "tally currency businesses PND" in refused.stderr  # says what to do
    tally.ok("tally send ADDRESS 1 PND --wallet corner-shop --wait", ADDRESS=stranger)  # change to anyone
    info = tally.json("tally currency info PND")
    assert info["terms"] == {"guaranteed": False, "accept": "registered"}


def _guaranteed_credits(tally: Tally) -> None:
    report = tally.json("tally credits report CARE")
    assert report["outstanding"] == 300  # the demo: care-org credited alice 3 h
    tally.ok('tally credits give CARE bob 2 --service "shopping for Mr. K" --wallet care-org --wait')
    tally.refused(
        'tally credits give CARE bob 99 --service "too much" --wallet care-org --wait', "over_quota"
    )
    tally.refused('tally credits give CARE bob 1 --service "me too" --wallet alice --wait', "not_accredited")
    tally.ok("tally send care-org 1 CARE --wallet alice --wait")  # redeemed with a care provider
    tally.refused("tally send bob 1 CARE --wallet alice --wait", "not_provider")
    org = tally.json("tally credits report CARE care-org")
    assert (org["credited"], org["redeemed"], org["quota"]) == (500, 100, 10_000)
    assert tally.json("tally credits report CARE")["outstanding"] == 500


def _exchange(tally: Tally) -> None:
    demo = tally.json("tally exchange show HOUR LETS")
    # both stewards agreed (HOUR's in HOUR-1, before handing HOUR to its members): it runs at once
    assert (demo["clearing"]["HOUR"]["agreed"], demo["clearing"]["LETS"]["agreed"]) == (True, True)
    demo_paid = tally.json("tally exchange pay bob 10 LETS --pay-in HOUR --wallet alice --wait")
    assert demo_paid["status"] == "applied", demo_paid
    for line in (
        "tally currency create GIVE --kind time --credit-limit 10 --wallet steward --wait",
        "tally currency create SWAP --kind mutual --credit-limit 100 --wallet steward --wait",
    ):
        tally.ok(line)
    for code in ("GIVE", "SWAP"):
        for name in ("alice", "bob"):
            tally.ok(f"tally currency admit {code} {name} --wallet steward --wait")
    tally.ok("tally exchange agree GIVE SWAP --rate 10 --limit 5 --partner-limit 50 --wallet steward --wait")
    tally.refused("tally exchange pay bob 10 SWAP --pay-in GIVE --wallet alice --wait", "no_agreement")
    tally.ok(
        "tally exchange agree SWAP GIVE --rate 1/10 --limit 50 --partner-limit 5 --wallet steward --wait"
    )
    paid = tally.json("tally exchange pay bob 20 SWAP --pay-in GIVE --wallet alice --wait")
    assert paid["status"] == "applied"
    tally.refused("tally exchange pay bob 40 SWAP --pay-in GIVE --wallet alice --wait", "over_exchange_limit")
    # a payment signed at version 1, applied after both communities changed the rate: stale
    built = tally.ok("tally exchange pay bob 10 SWAP --pay-in GIVE --wallet alice --build-only")
    tx_file = Path(tally.env["TALLY_HOME"]) / "stale.json"
    tx_file.write_text(built.stdout)
    tally.ok("tally exchange agree GIVE SWAP --rate 12 --limit 5 --partner-limit 50 --wallet steward --wait")
    tally.ok(
        "tally exchange agree SWAP GIVE --rate 1/12 --limit 50 --partner-limit 5 --wallet steward --wait"
    )
    tally.ok(f"tally tx sign {tx_file} --wallet alice --yes")
    tally.refused(f"tally tx submit {tx_file} --wait", "stale_rate")
    listed = tally.json("tally exchange list --currency GIVE")
    assert listed["net"] == 200  # GIVE's community owes SWAP's 2.00 h (20.00 SWAP)
    (agreement,) = listed["items"]
    assert agreement["owes"] == {
        "debtor": "GIVE",
        "creditor": "SWAP",
        "debtor_amount": 200,
        "creditor_amount": 2000,
    }


def _recovery(tally: Tally, wallets: dict[str, str]) -> None:
    new = tally.json("tally wallet create alice-new")["address"]
    old = wallets["alice"]
    tally.ok(
        f"tally recovery guardians bob,carol --threshold 2 --delay {RECOVERY_DELAY_S}s --wallet alice --wait"
    )
    tally.ok(f"tally recovery approve alice {new} --wallet bob --wait")
    tally.refused("tally recovery finish ADDRESS --wallet alice-new --wait", "too_few_guardians", ADDRESS=old)
    tally.ok(f"tally recovery approve alice {new} --wallet carol --wait")
    shown = tally.json("tally recovery show alice")
    assert shown["recovery"]["new_key"] == new
    tally.refused("tally recovery finish ADDRESS --wallet alice-new --wait", "recovery_not_due", ADDRESS=old)
    deadline = time.monotonic() + RECOVERY_DELAY_S + 60
    while True:
        finished = tally("tally recovery finish ADDRESS --wallet alice-new --wait", ADDRESS=old)
        if finished.returncode == 0:
            break
        assert "recovery_not_due" in finished.stderr, finished.stderr
        assert time.monotonic() < deadline, "the recovery never became due"
        time.sleep(3)
    tally.ok("tally send bob 1 LETS --from ADDRESS --wallet alice-new --wait", ADDRESS=old)
    tally.refused("tally send bob 1 LETS --wallet alice --wait", "bad_auth")
