"""The ledger entries governance adds: proposals, votes, vouches and the deadline queue.

Keys (state keys are a one-letter prefix and fixed-width or trailing fields, so each key decodes
without a separator):

* ``p`` ‖ code ‖ number (4 bytes)              → ``Proposal``
* ``v`` ‖ code ‖ number (4 bytes) ‖ voter (32)  → ``VoteRecord`` (one per member and proposal)
* ``k`` ‖ candidate (32) ‖ code                 → ``Candidacy`` (who vouched for a newcomer)
* ``q``                                         → ``DeadlineIndex`` (hours with proposals due)
* ``d`` ‖ hour (8 bytes)                        → ``DeadlineBucket`` (proposals due in that hour)

This module imports no other governance module that touches state, so ``protocol.state`` can
import it to decode every entry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol import codec
from protocol.codec import UINT32_MAX
from protocol.errors import DecodeError
from protocol.fields import KEY, MAX_CODE_LEN, valid_code
from protocol.governance.actions import MAX_ACTIONS, Action, decode_action, encode_action
from protocol.governance.operations import MAX_TITLE_CHARS, VOTE_BY_CODE, VOTE_CODES, VoteChoice
from protocol.governance.rules import GovernancePolicy
from protocol.hashing import HASH_SIZE
from protocol.results import ResultCode

PROPOSAL_PREFIX = b"p"
VOTE_PREFIX = b"v"
CANDIDACY_PREFIX = b"k"
DEADLINE_INDEX_KEY = b"q"
DEADLINE_BUCKET_PREFIX = b"d"
GOVERNANCE_ENTRY_V1 = 1
MAX_VOUCHERS = 10
MAX_BUCKET_ITEMS = 2000  # proposals due in one hour, network-wide (see protocol.governance.deadlines)
MAX_INDEX_ITEMS = 24 * 90 + 2  # one per hour of the longest voting period, plus the hour in progress


class ProposalStatus(enum.Enum):
    """Where a proposal stands; the value is its stable name (API and CLI)."""

    OPEN = "open"
    PASSED = "passed"  # counted, and every action ran
    REJECTED = "rejected"  # counted, and it did not reach the quorum or the majority
    FAILED = "failed"  # passed, but an action could not run: nothing changed (see ``failure``)


_STATUS_CODES = {status: i for i, status in enumerate(ProposalStatus)}
_STATUS_BY_CODE = dict(enumerate(ProposalStatus))
_POLICY_CODES = {policy: i for i, policy in enumerate(GovernancePolicy)}
_POLICY_BY_CODE = dict(enumerate(GovernancePolicy))
_RESULT_BY_NAME = {code.value: code for code in ResultCode}


def proposal_key(code: str, number: int) -> bytes:
    return PROPOSAL_PREFIX + code.encode("ascii") + number.to_bytes(4, "big")


def vote_key(code: str, number: int, voter: bytes) -> bytes:
    return VOTE_PREFIX + code.encode("ascii") + number.to_bytes(4, "big") + voter


def candidacy_key(candidate: bytes, code: str) -> bytes:
    return CANDIDACY_PREFIX + candidate + code.encode("ascii")


def deadline_bucket_key(hour: int) -> bytes:
    return DEADLINE_BUCKET_PREFIX + hour.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal and its running count.

    The electorate is fixed when the proposal is made: ``electorate`` members were in good
    standing then, and a member may vote only if their admission serial is at most
    ``admission_cutoff`` (admitted or reinstated before the proposal). The quorum and majority in
    force then are copied here too, so changing the rules never changes a vote under way.
    """

    currency: str
    number: int
    proposer: bytes
    title: str
    text_hash: bytes
    actions: tuple[Action, ...]
    policy: GovernancePolicy
    created_ms: int
    deadline_ms: int
    electorate: int
    admission_cutoff: int
    quorum_pct: int
    majority_pct: int
    yes: int = 0
    no: int = 0
    abstain: int = 0
    status: ProposalStatus = ProposalStatus.OPEN
    failure: ResultCode | None = None  # why a passed proposal could not run
    failed_action: int = -1  # which action (index) could not run

    @property
    def key(self) -> bytes:
        return proposal_key(self.currency, self.number)

    @property
    def id(self) -> str:
        """The text form people use: ``DEMOS-3``."""
        return f"{self.currency}-{self.number}"


@dataclass(frozen=True, slots=True)
class VoteRecord:
    currency: str
    number: int
    voter: bytes
    choice: VoteChoice

    @property
    def key(self) -> bytes:
        return vote_key(self.currency, self.number, self.voter)


@dataclass(frozen=True, slots=True)
class Candidacy:
    """The members who vouched for a newcomer (in order); ``admitted`` once enough did."""

    candidate: bytes
    currency: str
    vouchers: tuple[bytes, ...]
    admitted: bool

    @property
    def key(self) -> bytes:
        return candidacy_key(self.candidate, self.currency)


@dataclass(frozen=True, slots=True)
class DeadlineIndex:
    """The hours (close time // 1 h) that hold open proposals' deadlines, ascending."""

    hours: tuple[int, ...]

    @property
    def key(self) -> bytes:
        return DEADLINE_INDEX_KEY


@dataclass(frozen=True, slots=True)
class DeadlineBucket:
    """The open proposals whose deadline falls in ``hour``, as (deadline, code, number), sorted."""

    hour: int
    items: tuple[tuple[int, str, int], ...]

    @property
    def key(self) -> bytes:
        return deadline_bucket_key(self.hour)


GovernanceEntry = Proposal | VoteRecord | Candidacy | DeadlineIndex | DeadlineBucket
GOVERNANCE_PREFIXES = frozenset(
    {PROPOSAL_PREFIX, VOTE_PREFIX, CANDIDACY_PREFIX, DEADLINE_INDEX_KEY, DEADLINE_BUCKET_PREFIX}
)


def encode_governance_entry(entry: GovernanceEntry) -> tuple[object, ...]:
    """The msgpack-ready array of a governance entry (its key carries the rest)."""
    match entry:
        case Proposal():
            e = entry
            return (
                GOVERNANCE_ENTRY_V1,
                e.proposer,
                e.title,
                e.text_hash,
                tuple(encode_action(a) for a in e.actions),
                _POLICY_CODES[e.policy],
                e.created_ms,
                e.deadline_ms,
                e.electorate,
                e.admission_cutoff,
                e.quorum_pct,
                e.majority_pct,
                e.yes,
                e.no,
                e.abstain,
                _STATUS_CODES[e.status],
                "" if e.failure is None else e.failure.value,
                e.failed_action,
            )
        case VoteRecord(_, _, _, choice):
            return (GOVERNANCE_ENTRY_V1, VOTE_CODES[choice])
        case Candidacy(_, _, vouchers, admitted):
            return (GOVERNANCE_ENTRY_V1, vouchers, admitted)
        case DeadlineIndex(hours):
            return (GOVERNANCE_ENTRY_V1, hours)
        case DeadlineBucket(_, items):
            return (GOVERNANCE_ENTRY_V1, items)


def entry_size_limit(prefix: bytes) -> int:
    """The largest encoding an entry under ``prefix`` may have (decoding refuses more)."""
    if prefix == DEADLINE_BUCKET_PREFIX:
        return 64 * 1024
    if prefix == DEADLINE_INDEX_KEY:
        return 16 * 1024
    return 4096


def decode_governance_entry(key: bytes, fields: object) -> GovernanceEntry:
    """Decode the unpacked fields stored under a governance ``key``. Raises DecodeError."""
    prefix, rest = key[:1], key[1:]
    if prefix == PROPOSAL_PREFIX and 4 < len(rest) <= 4 + MAX_CODE_LEN:
        return _decode_proposal(_code(rest[:-4]), int.from_bytes(rest[-4:], "big"), fields)
    if prefix == VOTE_PREFIX and 4 + KEY < len(rest) <= 4 + KEY + MAX_CODE_LEN:
        version, choice = codec.array(fields, 2, "vote")
        codec.tag(version, GOVERNANCE_ENTRY_V1, "vote")
        if type(choice) is not int or choice not in VOTE_BY_CODE:
            raise DecodeError(f"vote: unknown choice {choice!r}")
        number = int.from_bytes(rest[-KEY - 4 : -KEY], "big")
        return VoteRecord(_code(rest[: -KEY - 4]), number, rest[-KEY:], VOTE_BY_CODE[choice])
    if prefix == CANDIDACY_PREFIX and KEY < len(rest) <= KEY + MAX_CODE_LEN:
        version, vouchers, admitted = codec.array(fields, 3, "candidacy")
        codec.tag(version, GOVERNANCE_ENTRY_V1, "candidacy")
        keys = tuple(
            codec.blob(v, "voucher", size=KEY) for v in codec.seq(vouchers, "vouchers", max_len=MAX_VOUCHERS)
        )
        return Candidacy(rest[:KEY], _code(rest[KEY:]), keys, codec.boolean(admitted, "admitted"))
    if key == DEADLINE_INDEX_KEY:
        version, hours = codec.array(fields, 2, "deadline index")
        codec.tag(version, GOVERNANCE_ENTRY_V1, "deadline index")
        items = tuple(codec.integer(h, "hour") for h in codec.seq(hours, "hours", max_len=MAX_INDEX_ITEMS))
        return DeadlineIndex(items)
    if prefix == DEADLINE_BUCKET_PREFIX and len(rest) == 8:
        version, items = codec.array(fields, 2, "deadline bucket")
        codec.tag(version, GOVERNANCE_ENTRY_V1, "deadline bucket")
        due = (codec.array(i, 3, "due proposal") for i in codec.seq(items, "due", max_len=MAX_BUCKET_ITEMS))
        return DeadlineBucket(
            int.from_bytes(rest, "big"),
            tuple(
                (codec.integer(d, "deadline"), _text_code(c), codec.integer(n, "number", hi=UINT32_MAX))
                for d, c, n in due
            ),
        )
    raise DecodeError(f"state entry: unknown key {key[:8].hex()}…")


def _decode_proposal(code: str, number: int, fields: object) -> Proposal:
    (
        version,
        proposer,
        title,
        text_hash,
        actions,
        policy,
        created,
        deadline,
        electorate,
        cutoff,
        quorum,
        majority,
        yes,
        no,
        abstain,
        status,
        failure,
        failed_action,
    ) = codec.array(fields, 18, "proposal")
    codec.tag(version, GOVERNANCE_ENTRY_V1, "proposal")
    policy_code = codec.integer(policy, "policy", hi=255)
    status_code = codec.integer(status, "status", hi=255)
    failure_name = codec.text(failure, "failure", max_len=64)
    if policy_code not in _POLICY_BY_CODE or status_code not in _STATUS_BY_CODE:
        raise DecodeError("proposal: unknown policy or status")
    if failure_name and failure_name not in _RESULT_BY_NAME:
        raise DecodeError(f"proposal: unknown failure {failure_name!r}")
    return Proposal(
        code,
        number,
        codec.blob(proposer, "proposer", size=KEY),
        codec.text(title, "title", max_len=MAX_TITLE_CHARS),
        codec.blob(text_hash, "text hash", max_len=HASH_SIZE),
        tuple(decode_action(a) for a in codec.seq(actions, "actions", max_len=MAX_ACTIONS)),
        _POLICY_BY_CODE[policy_code],
        codec.integer(created, "created"),
        codec.integer(deadline, "deadline"),
        codec.integer(electorate, "electorate"),
        codec.integer(cutoff, "admission cutoff"),
        codec.integer(quorum, "quorum", hi=255),
        codec.integer(majority, "majority", hi=255),
        codec.integer(yes, "yes"),
        codec.integer(no, "no"),
        codec.integer(abstain, "abstain"),
        _STATUS_BY_CODE[status_code],
        _RESULT_BY_NAME[failure_name] if failure_name else None,
        codec.integer(failed_action, "failed action", lo=-1, hi=MAX_ACTIONS),
    )


def _code(raw: bytes) -> str:
    code = raw.decode("ascii", errors="replace")
    if not valid_code(code):
        raise DecodeError(f"state entry: {raw!r} is not a currency code")
    return code


def _text_code(obj: object) -> str:
    code = codec.text(obj, "currency code", max_len=MAX_CODE_LEN)
    if not valid_code(code):
        raise DecodeError(f"state entry: {code!r} is not a currency code")
    return code
