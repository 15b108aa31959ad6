"""Currency designs from the field (protocol version 3): guaranteed time credits, spend-locally
money, exchange between communities, and social key recovery.

Pure and deterministic like the rest of ``protocol``. Layout (each module one job):

* ``terms``      — a currency's terms: guaranteed credits, whom holders may pay;
* ``operations`` — the new operations and their encoding;
* ``actions``    — the new proposal actions (accredit, register/remove a business, agree an exchange);
* ``entries``    — the new ledger entries: accreditations, businesses, agreements, guardianships;
* ``approval``   — stewards approve as their accounts sign (so a recovered key counts);
* ``credits``    — guaranteed time credits: accrediting organisations, crediting hours, quotas;
* ``local``      — spend-locally money: registering and removing businesses;
* ``payments``   — whom a payment may reach under a currency's terms;
* ``clearing``   — the clearing accounts' derived addresses;
* ``exchange``   — agreements between communities and payments across them;
* ``recovery``   — guardians replacing a lost key after a delay the owner chose;
* ``apply``      — dispatch of the operations and actions to their rules.

``protocol.state`` imports only ``terms`` and ``entries`` (and what they import: ``operations``,
``actions``), which touch no state, so there is no import cycle.
"""
