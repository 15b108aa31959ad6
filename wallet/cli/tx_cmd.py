"""``tally tx …``: status of a submitted transaction; offline signing (show, sign, submit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from protocol.addresses import encode_account
from wallet.cli.common import Session, session, submit
from wallet.cli.options import (
    DEFAULT_WAIT_S,
    JsonOpt,
    NodeOpt,
    PasswordFileOpt,
    TimeoutOpt,
    WaitOpt,
    WalletOpt,
    YesOpt,
)
from wallet.describe import describe_body
from wallet.errors import BadInput
from wallet.keystore import write_private
from wallet.txfile import TxFile, read_txfile

app = typer.Typer(
    name="tx",
    no_args_is_help=True,
    help="Transactions: status, and the offline / multisig flow (show, sign, submit).",
)

FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="A transaction file from --build-only.")]


@app.command("status")
def status(
    tx_hash: Annotated[str, typer.Argument(metavar="HASH", help="The transaction hash (64 hex characters).")],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where a transaction is: pending, applied (in which ledger), failed or rejected (and why).

    Exit code 1 when it failed or was rejected, 2 when the node does not know it.

    Examples:
      tally tx status 3f2a…
    """
    with session(as_json, node) as s:
        cleaned = tx_hash.strip().lower()
        if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
            raise BadInput("a transaction hash is 64 hexadecimal characters", code="bad_hash")
        data = s.client.tx_status(cleaned)
        if data.status == "unknown":
            raise BadInput(f"the node does not know transaction {cleaned}", code="unknown_tx")
        line = f"{cleaned}: {data.status}"
        if data.ledger is not None:
            line += f" in ledger {data.ledger}"
        if data.code and data.code != "ok":
            line += f" — {data.code}: {data.explanation or ''}"
        s.emit(data.to_json(), [line])
        if data.refused:
            raise typer.Exit(1)


def _describe(s: Session, file: TxFile) -> list[str]:
    body = file.tx.body
    lines = [
        f"Transaction {file.tx.hash.hex()}",
        f"  from account {s.namer()(body.source)}, sequence {body.seq}, "
        f"valid until ledger {body.last_valid_ledger}",
        f"  network id {file.network_id.hex()}",
    ]
    if body.memo:
        lines.append(f"  memo: {body.memo.decode('utf-8', 'replace')!r}")
    lines += [f"  - {line}" for line in describe_body(body, file.currencies, s.namer())]
    signed = [s.namer()(k) for k, _ in file.tx.signatures]
    lines.append(f"  signed by: {', '.join(signed) if signed else 'nobody yet'}")
    return lines


def _json(file: TxFile, s: Session) -> dict[str, Any]:
    return file.to_json(describe_body(file.tx.body, file.currencies))


@app.command("show")
def show(file: FileArg, as_json: JsonOpt = False) -> None:
    """Describe a transaction file in plain words (no node, no password needed).

    Examples:
      tally tx show tx.json
    """
    with session(as_json) as s:
        parsed = read_txfile(file)
        s.emit(_json(parsed, s), _describe(s, parsed))


@app.command("sign")
def sign(
    file: FileArg,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the signed file here (default: update FILE; '-' = stdout).",
        ),
    ] = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add your wallet's signature to a transaction file, after showing what it does.

    Works offline: no node is contacted. Pass the file on to the next signer, then `tally tx submit`.

    Examples:
      tally tx sign tx.json --wallet carol
      tally tx sign tx.json -o signed.json --yes
    """
    with session(as_json) as s:
        parsed = read_txfile(file)
        for line in _describe(s, parsed):
            typer.echo(line, err=True)
        if not yes and not typer.confirm("Sign this transaction?", err=True):
            raise BadInput("cancelled: nothing was signed", code="cancelled")
        name, keypair = s.unlock(wallet, password_file)
        signed = TxFile(parsed.network_id, parsed.tx.with_signature(keypair), parsed.currencies)
        data = _json(signed, s)
        text = json.dumps(data, indent=2) + "\n"
        target = output or file
        if str(target) == "-":
            sys.stdout.write(text)
            return
        write_private(target, text)
        signers = [x["address"] for x in data["signatures"]]
        s.emit(
            {
                "file": str(target),
                "hash": data["hash"],
                "signed_by": encode_account(keypair.public_key),
                "signatures": signers,
            },
            [
                f"Signed with {name!r} ({encode_account(keypair.public_key)}); {len(signers)} signature(s) in {target}"
            ],
        )


@app.command("submit")
def submit_cmd(
    file: FileArg,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_WAIT_S,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit a signed transaction file to the node.

    Examples:
      tally tx submit tx.json --wait
    """
    with session(as_json, node) as s:
        parsed = read_txfile(file)
        if not parsed.tx.signatures:
            raise BadInput(f"{file} carries no signature yet: sign it with `tally tx sign`", code="unsigned")
        if s.client.network_id() != parsed.network_id:
            raise BadInput(
                f"{file} was built for another network (id {parsed.network_id.hex()[:16]}…) than the "
                f"node at {s.client.url}",
                code="wrong_network",
            )
        submit(s, parsed.tx, parsed.currencies, wait=wait, timeout_s=timeout)
