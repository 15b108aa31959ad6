"""The operations protocol version 2 adds: propose, vote, vouch and leave.

Encoded like every operation (``[op_code, field, …]``, codes in ``protocol.operations``).
``well_formed`` is their state-free check (``malformed`` when it fails).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

from protocol import codec
from protocol.errors import DecodeError
from protocol.fields import decode_code, decode_key, valid_code
from protocol.governance.actions import MAX_ACTIONS, Action, action_well_formed, decode_action, encode_action
from protocol.governance.fund import fund_address
from protocol.hashing import HASH_SIZE

MAX_TITLE_CHARS = 80
MAX_PROPOSAL_NUMBER = (1 << 32) - 1


class VoteChoice(enum.Enum):
    """A member's vote; the value is its stable name."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"  # counts towards the quorum, not towards the majority


VOTE_CODES = {VoteChoice.YES: 0, VoteChoice.NO: 1, VoteChoice.ABSTAIN: 2}
VOTE_BY_CODE = {code: choice for choice, code in VOTE_CODES.items()}


@dataclass(frozen=True, slots=True)
class Propose:
    """Propose ``actions`` for ``currency``, to run atomically if the proposal passes.

    ``title`` is short and lives on the ledger; ``text_hash`` is empty or the BLAKE2b-256 of a
    longer text kept elsewhere (anyone holding the text can check it is the one voted on).
    """

    currency: str
    title: str
    text_hash: bytes
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class CastVote:
    """The source member's final vote on proposal ``number`` of ``currency``."""

    currency: str
    number: int
    choice: VoteChoice


@dataclass(frozen=True, slots=True)
class Vouch:
    """The source member vouches for ``candidate`` (admission policy ``vouch:N``)."""

    currency: str
    candidate: bytes


@dataclass(frozen=True, slots=True)
class LeaveCurrency:
    """The source member leaves ``currency`` (not while in debt; a positive balance goes to the fund)."""

    currency: str


GovernanceOperation = Propose | CastVote | Vouch | LeaveCurrency


def encode_propose(op: Propose) -> tuple[object, ...]:
    return (op.currency, op.title, op.text_hash, tuple(encode_action(a) for a in op.actions))


def decode_propose(fields: tuple[object, ...]) -> Propose:
    currency, title, text_hash, actions = codec.array(fields, 4, "propose")
    return Propose(
        decode_code(currency),
        codec.text(title, "proposal title", max_len=MAX_TITLE_CHARS),
        codec.blob(text_hash, "proposal text hash", max_len=HASH_SIZE),
        tuple(decode_action(a) for a in codec.seq(actions, "actions", max_len=MAX_ACTIONS)),
    )


def encode_vote(op: CastVote) -> tuple[object, ...]:
    return (op.currency, op.number, VOTE_CODES[op.choice])


def decode_vote(fields: tuple[object, ...]) -> CastVote:
    currency, number, choice = codec.array(fields, 3, "vote")
    choice_code = codec.integer(choice, "vote choice", hi=255)
    if choice_code not in VOTE_BY_CODE:
        raise DecodeError(f"vote: unknown choice {choice_code}")
    return CastVote(
        decode_code(currency),
        codec.integer(number, "proposal number", hi=MAX_PROPOSAL_NUMBER),
        VOTE_BY_CODE[choice_code],
    )


def decode_vouch(fields: tuple[object, ...]) -> Vouch:
    currency, candidate = codec.array(fields, 2, "vouch")
    return Vouch(decode_code(currency), decode_key(candidate, "candidate"))


def decode_leave(fields: tuple[object, ...]) -> LeaveCurrency:
    (currency,) = codec.array(fields, 1, "leave")
    return LeaveCurrency(decode_code(currency))


def well_formed(op: GovernanceOperation, source: bytes) -> bool:
    """State-free sanity of a governance operation."""
    if not valid_code(op.currency):
        return False
    match op:
        case Propose(code, title, text_hash, actions):
            return (
                bool(title.strip())
                and title.isprintable()
                and len(text_hash) in (0, HASH_SIZE)
                and 1 <= len(actions) <= MAX_ACTIONS
                and all(action_well_formed(a, code) for a in actions)
            )
        case CastVote(_, number, _):
            return number >= 1
        case Vouch(code, candidate):
            return candidate not in (source, fund_address(code))
        case LeaveCurrency():
            return True
        case _:
            assert_never(op)
