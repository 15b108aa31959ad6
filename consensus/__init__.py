"""Federated Byzantine agreement: the Stellar Consensus Protocol as a sans-IO state machine.

Pure and synchronous: time, timers, randomness and value semantics come from the caller (a ``Driver``
and explicit ``now`` arguments); effects are returned as values. Values are opaque bytes here.
Nothing in this package imports trio, libp2p, plyvel, an HTTP library, ``node`` or ``wallet``.

Layout: ``_quorum`` (quorum sets and predicates) → ``_messages`` (statements, codec, ordering) →
``_driver`` (driver protocol, effects) → ``_ballot`` / ``_nomination`` (the two sub-protocols) →
``_slot`` (federated voting for one slot) → ``_node`` (``ScpNode`` façade, ``proof_is_valid``).
``sim`` is a deterministic multi-node simulator, ``quorum_check`` a quorum-intersection checker (SAT,
``_sat_quorums``) and ``quorum_explain`` its explanations (critical groups, threshold fixes).
"""

from consensus._driver import (
    CancelTimer,
    Driver,
    Effect,
    Emit,
    Externalized,
    NeedQuorumSet,
    SetTimer,
    TimerKind,
    Validity,
)
from consensus._errors import ConsensusError, InvariantViolation, QuorumSetError, StatementDecodeError
from consensus._messages import (
    Ballot,
    Confirm,
    Externalize,
    Nominate,
    Prepare,
    Statement,
    committed_value,
    decode_statement,
    encode_statement,
)
from consensus._node import ScpNode, proof_is_valid
from consensus._quorum import (
    NodeId,
    QuorumSet,
    all_validators,
    check_quorum_set_sane,
    decode_quorum_set,
    is_quorum,
    is_quorum_slice,
    is_v_blocking,
    normalize_quorum_set,
    organisation_weight,
)

__all__ = [
    "Ballot",
    "CancelTimer",
    "Confirm",
    "ConsensusError",
    "Driver",
    "Effect",
    "Emit",
    "Externalize",
    "Externalized",
    "InvariantViolation",
    "NeedQuorumSet",
    "NodeId",
    "Nominate",
    "Prepare",
    "QuorumSet",
    "QuorumSetError",
    "ScpNode",
    "SetTimer",
    "Statement",
    "StatementDecodeError",
    "TimerKind",
    "Validity",
    "all_validators",
    "check_quorum_set_sane",
    "committed_value",
    "decode_quorum_set",
    "decode_statement",
    "encode_statement",
    "is_quorum",
    "is_quorum_slice",
    "is_v_blocking",
    "normalize_quorum_set",
    "organisation_weight",
    "proof_is_valid",
]
