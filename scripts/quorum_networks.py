"""Generate the test networks of issue 17 as ``tally check-quorum`` / ``tally sim --network`` files.

``orgs`` (default): organisations of ``--per-org`` validators; every validator trusts "T of the
organisations, a majority inside each" (T defaults to n - ⌊(n-1)/3⌋, which intersects; ``--split``
uses ⌊n/2⌋, which can split). ``--watchers M`` adds M non-validating nodes, each trusting a random
subset of the organisations (its own 2f+1-style threshold over them). Seeded: the same options
always write the same file, so benchmark figures can be reproduced.

``random``: N nodes, each trusting a random K of the others with a simple majority: no structure
for the solver to exploit, the kind of network that ends as "unknown" under the limits.

Examples:
  python scripts/quorum_networks.py --orgs 20 --watchers 40 -o net20.json
  python scripts/quorum_networks.py --orgs 20 --watchers 40 --split -o split20.json
  python scripts/quorum_networks.py --kind random --nodes 60 --members 15 -o hard.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

QSet = dict[str, Any]


def _bft(n: int) -> int:
    return n - (n - 1) // 3


def org_network(orgs: int, per_org: int, watchers: int, threshold: int | None, seed: int) -> list[QSet]:
    rng = random.Random(seed)
    members = [[f"org{i:02d}-v{j}" for j in range(per_org)] for i in range(orgs)]
    inner = [
        {"threshold": per_org // 2 + 1, "validators": list(names), "inner_sets": []} for names in members
    ]
    top = {"threshold": threshold or _bft(orgs), "validators": [], "inner_sets": inner}
    nodes = [{"id": v, "quorum_set": top} for names in members for v in names]
    for w in range(watchers):
        k = rng.randint(min(2, orgs), orgs)
        chosen = sorted(rng.sample(range(orgs), k))
        nodes.append(
            {
                "id": f"watcher{w:02d}",
                "quorum_set": {
                    "threshold": _bft(k),
                    "validators": [],
                    "inner_sets": [inner[i] for i in chosen],
                },
            }
        )
    return nodes


def random_network(n: int, k: int, seed: int) -> list[QSet]:
    rng = random.Random(seed)
    names = [f"n{i:03d}" for i in range(n)]
    return [
        {
            "id": v,
            "quorum_set": {"threshold": k // 2 + 1, "validators": rng.sample(names, k), "inner_sets": []},
        }
        for v in names
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=("orgs", "random"), default="orgs")
    parser.add_argument("--orgs", type=int, default=7)
    parser.add_argument("--per-org", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=0)
    parser.add_argument("--threshold", type=int, default=0, help="top-level threshold (default 2f+1-style)")
    parser.add_argument(
        "--split", action="store_true", help="threshold ⌊orgs/2⌋: two quorums can be disjoint"
    )
    parser.add_argument("--nodes", type=int, default=60, help="random: number of nodes")
    parser.add_argument("--members", type=int, default=15, help="random: quorum set size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    if args.kind == "random":
        if not 1 <= args.members <= args.nodes:
            parser.error("--members must be between 1 and --nodes")
        nodes = random_network(args.nodes, args.members, args.seed)
    else:
        if args.orgs < 1 or args.per_org < 1 or args.watchers < 0:
            parser.error("--orgs and --per-org must be at least 1, --watchers at least 0")
        threshold = args.orgs // 2 if args.split else args.threshold or None
        if threshold is not None and not 1 <= threshold <= args.orgs:
            parser.error(f"the threshold must be between 1 and {args.orgs}")
        nodes = org_network(args.orgs, args.per_org, args.watchers, threshold, args.seed)
    text = json.dumps({"nodes": nodes}, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
