"""Typed wallet errors, each carrying the exit code the CLI turns it into.

Exit codes (stable, documented): 0 ok; 1 refused by the ledger's rules (caught by the wallet
before sending, or answered by the node); 2 bad usage or input (wrong password, mistyped address,
bad amount, unknown name); 3 the node could not be reached, is in trouble (5xx) or answered
something the wallet cannot read.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class WalletError(Exception):
    """Base class: ``code`` is a stable machine name, ``exit_code`` the process exit code."""

    exit_code = EXIT_USAGE
    code = "bad_input"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadInput(WalletError):
    """Bad usage or input: an unknown name, a mistyped address, a bad amount or file."""


class WrongPassword(BadInput):
    code = "wrong_password"


class KeystoreError(BadInput):
    """A keystore file that is missing, unreadable or of an unknown format."""

    code = "bad_keystore"


class Refused(WalletError):
    """The ledger's rules refuse the request (``code`` is the ledger result code)."""

    exit_code = EXIT_REFUSED
    code = "refused"


class NodeUnreachable(WalletError):
    exit_code = EXIT_UNREACHABLE
    code = "node_unreachable"


class NodeError(WalletError):
    """The node answered with an error the wallet did not expect (HTTP status + API code).

    A 4xx answer means the request was bad (exit 2); a 5xx answer means the node itself is in
    trouble, which for the member is like not reaching it (exit 3).
    """

    exit_code = EXIT_USAGE
    code = "node_error"

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        if status >= 500:
            self.exit_code = EXIT_UNREACHABLE


class BadResponse(WalletError):
    """The node answered something the wallet cannot read (not JSON, a field missing or of the
    wrong type). For the member that is like a node in trouble: exit 3."""

    exit_code = EXIT_UNREACHABLE
    code = "bad_response"
