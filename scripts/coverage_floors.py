"""Coverage per package after a test run, and the floors it must reach (scripts/test).

pytest-cov writes the line coverage of ``protocol``, ``consensus``, ``node`` and ``wallet`` measured
in the test process to ``.coverage``; node processes a slow test starts are not measured (the same
code runs in process in the memnet tests). The pure packages carry the ledger's rules and must be
almost fully exercised; ``node`` is the I/O layer, where some error paths need a real fault.

Exit codes: 0 every floor met, 1 a package below its floor, 2 no coverage data.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import coverage
from coverage.exceptions import NoDataError

# package -> the lowest line coverage (percent) a whole-suite run may show (None: reported only)
FLOORS: dict[str, float | None] = {"protocol": 95.0, "consensus": 95.0, "node": 85.0, "wallet": None}


def package_coverage(data_file: Path, package: str) -> float:
    """Percent of ``package``'s statements run, as ``coverage report`` computes it."""
    cov = coverage.Coverage(data_file=str(data_file))
    cov.load()
    return cov.report(include=[f"{package}/*"], file=io.StringIO())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-file", type=Path, default=Path(".coverage"))
    parser.add_argument("--report-only", action="store_true", help="print the figures, enforce no floor")
    args = parser.parse_args(argv)
    missed = []
    print("coverage by package (lines):")
    for package, floor in FLOORS.items():
        try:
            percent = package_coverage(args.data_file, package)
        except NoDataError:
            print(f"no coverage data in {args.data_file}: run the tests with --cov first", file=sys.stderr)
            return 2
        if floor is None:
            verdict = "  (no floor)"
        elif percent < floor:
            verdict = f"  BELOW the floor of {floor:.0f} %"
            missed.append(package)
        else:
            verdict = f"  (floor {floor:.0f} %)"
        print(f"  {package:<10} {percent:6.2f} %{verdict}")
    if missed and not args.report_only:
        print(f"coverage floors missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
