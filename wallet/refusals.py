"""What the member reads when the ledger refuses a transaction, built from the node's answer.

The node is the only judge of the ledger's rules: it answers a result code and the figures
behind it (``figures`` of ``POST /tx``, listed in ``node/refusals.py``). This module only puts
them into words, e.g. ``over credit limit: available 8.50 h, asked 12.00 h``. A figure the node
did not send leaves the message shorter, never wrong; an unknown code falls back to the node's
own explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from protocol.addresses import decode_account
from protocol.operations import AdmitMember, Mint, Operation, Redeem, SetCreditLimit
from protocol.results import ResultCode
from wallet.describe import Namer, UnitTable, default_namer
from wallet.design_refusals import DESIGN_MESSAGES
from wallet.views import Figures, TxResultView

R = ResultCode
Explain = Callable[["Refusal"], str | None]


class Refusal:
    """One refused transaction: its code, figures, operations and how to show amounts and accounts."""

    def __init__(
        self, result: TxResultView, operations: Sequence[Operation], units: UnitTable, namer: Namer
    ) -> None:
        self.code = result.code or "refused"
        self.figures: Figures = result.figures
        self.explanation = result.explanation
        index = self.figures.op_index if self.figures.op_index is not None else result.op_index
        self.operation = operations[index] if index is not None and 0 <= index < len(operations) else None
        self.currency = self.figures.currency or ""
        self._units = units
        self._namer = namer

    def amount(self, value: int | None) -> str:
        if value is None:
            return "?"
        units = self._units.get(self.currency)
        return f"{value} minor units" if units is None else units.text(value, self.currency)

    def account(self, address: str | None) -> str:
        return "?" if address is None else self._namer(decode_account(address))


def _credit(r: Refusal) -> str:
    f = r.figures
    return f"over credit limit: available {r.amount(f.available)}, asked {r.amount(f.asked)}"


def _underfunded(r: Refusal) -> str:
    f = r.figures
    return f"underfunded: available {r.amount(f.available)}, asked {r.amount(f.asked)}"


def _ceiling(r: Refusal) -> str:
    f = r.figures
    return (
        f"over {r.currency}'s ceiling: {r.account(f.account)} holds {r.amount(f.balance)}, "
        f"{r.amount(f.asked)} more would pass the ceiling of {r.amount(f.max_balance)}"
    )


def _not_member(r: Refusal) -> str:
    return (
        f"not a member: {r.account(r.figures.account)} is not a member of {r.currency}; "
        "a steward admits members with `tally currency admit`"
    )


def _recipient(r: Refusal) -> str:
    return f"the recipient {r.account(r.figures.account)} is not a member of {r.currency}"


def _already(r: Refusal) -> str:
    return f"{r.account(r.figures.account)} is already a member of {r.currency}"


def _exists(r: Refusal) -> str:
    return f"a currency {r.currency} already exists"


def _no_currency(r: Refusal) -> str:
    return f"no currency {r.currency} on this ledger"


def _wrong_kind(r: Refusal) -> str | None:
    if isinstance(r.operation, AdmitMember):
        return f"{r.currency} is an issued currency: anyone may hold it, there is no membership"
    if isinstance(r.operation, SetCreditLimit):
        return f"{r.currency} is an issued currency: there is no credit"
    if isinstance(r.operation, Mint | Redeem):
        kind = r.figures.kind.value if r.figures.kind else "mutual"
        return f"{r.currency} is {kind} credit: it is created by payments, never minted or redeemed"
    return None


def _not_issuer(r: Refusal) -> str:
    return f"only the issuer of {r.currency} may do this: {r.account(r.figures.issuer)}"


def _stewards(r: Refusal) -> str:
    f = r.figures
    needed, signed = f.steward_threshold, f.steward_signatures
    text = f"{r.currency} needs {needed} steward signature(s); this transaction carries {signed}"
    if needed is not None and needed > 1:
        return text + ": use --build-only, then `tally tx sign` by each steward and `tally tx submit`"
    return text + f": sign with a steward's wallet (see `tally currency info {r.currency}`)"


def _auth(r: Refusal) -> str:
    f = r.figures
    return (
        f"not enough signatures: they weigh {f.signed_weight if f.signed_weight is not None else '?'}, "
        f"the account needs {f.threshold if f.threshold is not None else '?'}: build the transaction "
        "with --build-only, collect signatures with `tally tx sign`, then `tally tx submit`"
    )


def _signers(r: Refusal) -> str:
    return (
        "bad signers: keys must be distinct, weights 1-255, and the threshold "
        f"({r.figures.threshold}) reachable by their total weight ({r.figures.total_weight})"
    )


def _seq(r: Refusal) -> str:
    f = r.figures
    return (
        f"bad sequence number {f.seq}: the account expects {f.expected_seq} (another transaction "
        "from this account went first); run the command again"
    )


def _late(r: Refusal) -> str:
    f = r.figures
    return f"too late: the transaction was valid until ledger {f.last_valid_ledger}, the next is {f.ledger}"


_MESSAGES: dict[str, Explain] = {
    R.OVER_CREDIT_LIMIT.value: _credit,
    R.UNDERFUNDED.value: _underfunded,
    R.OVER_MAX_BALANCE.value: _ceiling,
    R.NOT_MEMBER.value: _not_member,
    R.DESTINATION_NOT_MEMBER.value: _recipient,
    R.ALREADY_MEMBER.value: _already,
    R.CURRENCY_EXISTS.value: _exists,
    R.NO_CURRENCY.value: _no_currency,
    R.WRONG_KIND.value: _wrong_kind,
    R.NOT_ISSUER.value: _not_issuer,
    R.BAD_STEWARD_AUTH.value: _stewards,
    R.BAD_AUTH.value: _auth,
    R.BAD_SIGNERS.value: _signers,
    R.BAD_SEQ.value: _seq,
    R.TOO_LATE.value: _late,
    **DESIGN_MESSAGES,  # protocol version 3 (wallet.design_refusals)
}


def refusal_message(
    result: TxResultView, operations: Sequence[Operation], units: UnitTable, namer: Namer = default_namer
) -> str:
    """The member's sentence for a refused ``result`` of a transaction with ``operations``."""
    text = refusal_reason(result, operations, units, namer)
    return f"refused by the ledger ({result.code or 'refused'}): {text} (transaction {result.hash})"


def refusal_reason(
    result: TxResultView, operations: Sequence[Operation], units: UnitTable, namer: Namer = default_namer
) -> str:
    """Why, in words and the node's figures: ``over credit limit: available 8.50 h, asked 12.00 h``."""
    refusal = Refusal(result, operations, units, namer)
    explain = _MESSAGES.get(refusal.code)
    # without figures (e.g. a transaction that failed inside a ledger) the node's explanation is all
    text = explain(refusal) if explain is not None and result.figures != Figures() else None
    return text or refusal.explanation or "no explanation given"
