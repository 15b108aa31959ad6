"""Result codes: the stable, named outcome of applying a transaction.

Names never change once released (wallets and scripts match on them); new codes may be added.
``TxResult.op_index`` says which operation failed (-1 when the transaction as a whole failed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol import codec
from protocol.direct_init import direct_init
from protocol.errors import DecodeError
from protocol.hashing import HASH_SIZE


class ResultCode(enum.StrEnum):
    OK = "ok"
    # The transaction as a whole (nothing changes, not even the sequence number):
    MALFORMED = "malformed"
    TOO_LATE = "too_late"
    BAD_SEQ = "bad_seq"
    BAD_AUTH = "bad_auth"
    # One operation failed (all operations are undone; the sequence number is used up):
    NO_CURRENCY = "no_currency"
    CURRENCY_EXISTS = "currency_exists"
    NOT_MEMBER = "not_member"
    DESTINATION_NOT_MEMBER = "destination_not_member"
    ALREADY_MEMBER = "already_member"
    OVER_CREDIT_LIMIT = "over_credit_limit"
    UNDERFUNDED = "underfunded"
    OVER_MAX_BALANCE = "over_max_balance"
    BAD_STEWARD_AUTH = "bad_steward_auth"
    NOT_ISSUER = "not_issuer"
    WRONG_KIND = "wrong_kind"
    BAD_SIGNERS = "bad_signers"
    UNSUPPORTED = "unsupported"
    # Protocol version 2 (governance):
    PROTOCOL_TOO_OLD = "protocol_too_old"  # transaction level, like malformed
    NEEDS_PROPOSAL = "needs_proposal"
    WRONG_ADMISSION_POLICY = "wrong_admission_policy"
    SUSPENDED = "suspended"
    EXPELLED = "expelled"
    ISSUER_PROTECTED = "issuer_protected"
    IN_DEBT = "in_debt"
    ALREADY_VOUCHED = "already_vouched"
    NO_PROPOSAL = "no_proposal"
    VOTING_CLOSED = "voting_closed"
    ALREADY_VOTED = "already_voted"
    NOT_IN_ELECTORATE = "not_in_electorate"
    CONFLICTING_ACTIONS = "conflicting_actions"
    BAD_VOTING_PERIOD = "bad_voting_period"
    BAD_GOVERNANCE_RULES = "bad_governance_rules"
    BAD_RATE = "bad_rate"
    FUND_SHORT = "fund_short"
    FUND_ACCOUNT = "fund_account"
    TOO_MANY_OPEN_PROPOSALS = "too_many_open_proposals"
    # Protocol version 3 (designs from the field):
    NOT_GUARANTOR = "not_guarantor"
    NOT_ACCREDITED = "not_accredited"
    OVER_QUOTA = "over_quota"
    NOT_PROVIDER = "not_provider"
    GUARANTEED_CREDITS = "guaranteed_credits"
    NOT_REGISTERED = "not_registered"
    NO_AGREEMENT = "no_agreement"
    STALE_RATE = "stale_rate"
    OVER_EXCHANGE_LIMIT = "over_exchange_limit"
    OVER_SEND_MAX = "over_send_max"
    CLEARING_ACCOUNT = "clearing_account"
    BAD_GUARDIANS = "bad_guardians"
    NOT_GUARDIAN = "not_guardian"
    NO_RECOVERY = "no_recovery"
    TOO_FEW_GUARDIANS = "too_few_guardians"
    RECOVERY_NOT_DUE = "recovery_not_due"

    @property
    def consumes_sequence(self) -> bool:
        """Whether a transaction with this result used up its sequence number."""
        return self not in _TX_LEVEL

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_TX_LEVEL = frozenset(
    {
        ResultCode.MALFORMED,
        ResultCode.TOO_LATE,
        ResultCode.BAD_SEQ,
        ResultCode.BAD_AUTH,
        ResultCode.PROTOCOL_TOO_OLD,
    }
)

_EXPLANATIONS = {
    ResultCode.OK: "applied",
    ResultCode.MALFORMED: "the transaction is malformed (an amount of zero, a bad currency code, a bad threshold…)",
    ResultCode.TOO_LATE: "the transaction's validity window passed before it could be applied",
    ResultCode.BAD_SEQ: "the sequence number is not the account's next one (already used, or a gap)",
    ResultCode.BAD_AUTH: "the signatures do not meet the account's signing threshold, or one is invalid",
    ResultCode.NO_CURRENCY: "no currency with this code exists",
    ResultCode.CURRENCY_EXISTS: "a currency with this code already exists",
    ResultCode.NOT_MEMBER: "the account is not an admitted member of this currency (members pay, propose, vote and vouch)",
    ResultCode.DESTINATION_NOT_MEMBER: "the recipient is not an admitted member of this currency",
    ResultCode.ALREADY_MEMBER: "the account is already a member of this currency",
    ResultCode.OVER_CREDIT_LIMIT: "the payment would take the payer below their credit limit",
    ResultCode.UNDERFUNDED: "the balance is too low for this amount",
    ResultCode.OVER_MAX_BALANCE: "the recipient's balance would pass the currency's ceiling",
    ResultCode.BAD_STEWARD_AUTH: "not enough of the currency's stewards signed",
    ResultCode.NOT_ISSUER: "only the currency's issuer may do this",
    ResultCode.WRONG_KIND: "this operation does not apply to this kind of currency",
    ResultCode.BAD_SIGNERS: "the signer list is invalid (duplicates, weights, or a threshold they cannot reach)",
    ResultCode.UNSUPPORTED: "the network's protocol version does not support this yet (demurrage needs version 2)",
    ResultCode.PROTOCOL_TOO_OLD: (
        "an operation needs a newer protocol version than the network runs; validators must vote "
        "the upgrade first (nothing changed, the transaction may be sent again later)"
    ),
    ResultCode.NEEDS_PROPOSAL: "this currency is governed by its members: this change needs a passed proposal",
    ResultCode.WRONG_ADMISSION_POLICY: (
        "this currency admits newcomers another way (see its admission policy: stewards, vouch:N or vote)"
    ),
    ResultCode.SUSPENDED: "the account is suspended in this currency: it cannot pay, be paid, vote or vouch",
    ResultCode.EXPELLED: (
        "the account was expelled from this currency: it cannot pay, be paid, vote or vouch, "
        "and only a passed proposal can reinstate it"
    ),
    ResultCode.ISSUER_PROTECTED: (
        "the issuer of an issued currency (or the guarantor of guaranteed time credits) cannot be "
        "suspended or expelled"
    ),
    ResultCode.IN_DEBT: "the member owes credit: bring the balance back to zero or above before leaving",
    ResultCode.ALREADY_VOUCHED: "this member already vouched for this newcomer",
    ResultCode.NO_PROPOSAL: "no proposal with this number exists in this currency",
    ResultCode.VOTING_CLOSED: "the proposal's deadline has passed (or it was decided): votes are no longer counted",
    ResultCode.ALREADY_VOTED: "this member already voted on this proposal; a vote is final",
    ResultCode.NOT_IN_ELECTORATE: (
        "the member joined (or was reinstated) after the proposal was made, so is not in its electorate"
    ),
    ResultCode.CONFLICTING_ACTIONS: (
        "two actions of the proposal change the same thing (the same setting, or the same member)"
    ),
    ResultCode.BAD_VOTING_PERIOD: "the voting period must be between 30 seconds and 90 days",
    ResultCode.BAD_GOVERNANCE_RULES: (
        "quorum must be 0–100 %, majority 50–100 %, and vouch:N needs N from 1 to 10"
    ),
    ResultCode.BAD_RATE: "the rate is above its maximum (demurrage 50 % a year, levy 10 % of a payment)",
    ResultCode.FUND_SHORT: "the commons fund cannot pay this much (its balance plus its credit limit is too low)",
    ResultCode.FUND_ACCOUNT: (
        "the commons fund's address cannot be a member; its money moves only through passed proposals"
    ),
    ResultCode.TOO_MANY_OPEN_PROPOSALS: (
        "too many proposals are open (16 per currency); wait for one to be decided"
    ),
    ResultCode.NOT_GUARANTOR: (
        "only the currency's guarantor may accredit organisations and set their quotas "
        "(or a passed proposal, where the members govern)"
    ),
    ResultCode.NOT_ACCREDITED: (
        "the organisation is not accredited by this currency's guarantor to credit hours "
        "(or its accreditation was withdrawn)"
    ),
    ResultCode.OVER_QUOTA: "this credit would take the organisation past the hour quota its guarantor set",
    ResultCode.NOT_PROVIDER: (
        "these guaranteed credits are redeemed only with accredited care providers "
        "(this currency does not allow payments between peers)"
    ),
    ResultCode.GUARANTEED_CREDITS: (
        "guaranteed time credits are earned only through accredited organisations and never decay: "
        "no demurrage, no exchange with other currencies"
    ),
    ResultCode.NOT_REGISTERED: (
        "this currency is spent only with registered businesses, and the recipient is not one "
        "(businesses and the issuer pay anyone)"
    ),
    ResultCode.NO_AGREEMENT: (
        "these two communities have no exchange agreement in force (both must agree to the same "
        "rate and limits, each through its own governance)"
    ),
    ResultCode.STALE_RATE: (
        "the exchange agreement changed since this payment was signed: look up the current rate and "
        "sign again"
    ),
    ResultCode.OVER_EXCHANGE_LIMIT: (
        "the exchange would take a community's clearing account past the agreed limit "
        "(an issued currency's clearing account pays only what it holds)"
    ),
    ResultCode.OVER_SEND_MAX: "at the agreed rate this payment costs more than the most the payer signed for",
    ResultCode.CLEARING_ACCOUNT: (
        "a community's clearing account moves money only through exchanges: it cannot be a member, "
        "be admitted, accredited or paid directly"
    ),
    ResultCode.BAD_GUARDIANS: (
        "guardians must be 1-10 distinct accounts other than the account itself, the threshold from "
        "1 to their number, and the delay from 30 seconds to 365 days"
    ),
    ResultCode.NOT_GUARDIAN: "only a guardian the account named can approve replacing its key",
    ResultCode.NO_RECOVERY: "this account has no key recovery in progress (or names no guardians)",
    ResultCode.TOO_FEW_GUARDIANS: (
        "too few guardians approved replacing the key with the same new key: the owner's threshold "
        "is not reached"
    ),
    ResultCode.RECOVERY_NOT_DUE: (
        "the recovery's delay has not passed yet: until then the owner's old key can cancel it"
    ),
}

_CODE_BY_NAME = {code.value: code for code in ResultCode}


@direct_init
@dataclass(frozen=True, slots=True)
class TxResult:
    tx_hash: bytes
    code: ResultCode
    op_index: int = -1

    @property
    def ok(self) -> bool:
        return self.code is ResultCode.OK


def encode_result(result: TxResult) -> tuple[object, ...]:
    return (result.tx_hash, result.code.value, result.op_index)


def decode_result(obj: object) -> TxResult:
    tx_hash, name, op_index = codec.array(obj, 3, "result")
    code = _CODE_BY_NAME.get(codec.text(name, "result code", max_len=64))
    if code is None:
        raise DecodeError(f"result: unknown result code {name!r}")
    return TxResult(
        codec.blob(tx_hash, "result tx hash", size=HASH_SIZE),
        code,
        codec.integer(op_index, "operation index", lo=-1, hi=1000),
    )
