#!/usr/bin/env python3
"""Compare the modelled legal risk of ways to use the frozen assets, per jurisdiction, with the
doctrines and positions that drive each figure.

    python legal_risk.py --jurisdictions BE FR --actions windfall_profits reparations_loan confiscation
"""

import argparse
import os

from leverage_client import Client, LeverageError
from leverage_client.v1 import legal_pb2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("LEVERAGE_TARGET", "localhost:50051"))
    parser.add_argument("--jurisdictions", nargs="*", default=["BE", "FR"])
    parser.add_argument(
        "--actions", nargs="*", default=["windfall_profits", "reparations_loan", "confiscation"]
    )
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    args = parser.parse_args()

    with Client(args.target) as client:
        for action in args.actions:
            try:
                a = client.assess_legal_risk(action, args.jurisdictions, as_of=args.as_of)
            except LeverageError as e:  # e.g. an unknown jurisdiction, with the field named
                raise SystemExit(str(e))
            level = legal_pb2.RiskLevel.Name(a.overall_level).removeprefix("RISK_LEVEL_")
            print(f"{action}: overall risk {a.overall_risk:.2f} ({level})")
            for j in a.jurisdictions:
                drivers = ", ".join(f"{d.title} ({d.contribution:+.2f})" for d in j.drivers[:3])
                print(f"  {j.jurisdiction}: {j.risk:.2f}  driven by {drivers}")


if __name__ == "__main__":
    main()
