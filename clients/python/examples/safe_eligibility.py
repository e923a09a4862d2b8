#!/usr/bin/env python3
"""Check which countries may take part in SAFE (the EU's defence loans) on a date, for a
procurement with a given share of components from outside, with the dated reasons.

    python safe_eligibility.py --as-of 2026-03-02 --share 50 GB CA NO UA
"""

import argparse
import os

from leverage_client import Client
from leverage_client.v1 import funding_pb2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("LEVERAGE_TARGET", "localhost:50051"))
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--share", type=float, default=None,
                        help="percentage of component cost from outside")
    parser.add_argument("countries", nargs="*", default=["GB", "CA", "NO", "UA", "US"])
    args = parser.parse_args()

    with Client(args.target) as client:
        for country in args.countries:
            a = client.check_eligibility(
                country, as_of=args.as_of, outside_component_share_pct=args.share
            )
            verdict = funding_pb2.Eligibility.Name(a.eligibility).removeprefix("ELIGIBILITY_")
            role = funding_pb2.ParticipantRole.Name(a.role).removeprefix("PARTICIPANT_ROLE_")
            cap = f", cap {a.cap_pct:g}%" if a.HasField("cap_pct") else ""
            print(f"{country}: {verdict} ({role.lower()}{cap})")
            if a.reasons:
                print(f"    because: {a.reasons[-1].text}")


if __name__ == "__main__":
    main()
