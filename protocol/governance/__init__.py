"""Members govern their currency: proposals, votes, admission by vouching, suspension, expulsion,
leaving, the commons fund, demurrage and the levy (protocol version 2).

Pure and deterministic like the rest of ``protocol``. Layout (each module one job):

* ``rules``      — a currency's governance policy and admission policy, with their bounds;
* ``actions``    — what a proposal may do, their encoding and their static checks;
* ``operations`` — the new operations: propose, vote, vouch, leave;
* ``entries``    — the new ledger entries: proposals, votes, vouches, the deadline queue;
* ``fund``       — the commons fund's derived address and its holding;
* ``demurrage``  — the lazy, integer-only yearly decay of positive balances;
* ``standing``   — admit, reinstate, suspend, expel, leave: every change of membership;
* ``transfer``   — moving money inside a currency (payments, payouts) with levy and demurrage;
* ``execute``    — running one action against the state;
* ``proposals``  — making, voting on and deciding proposals;
* ``deadlines``  — the queue that finds the proposals due in a ledger without a sweep;
* ``vouching``   — admission once enough members vouched.

Nothing here is imported by ``protocol/__init__``; ``protocol.state`` imports only ``rules`` and
``entries`` (which import no other governance module), so there is no import cycle.
"""
