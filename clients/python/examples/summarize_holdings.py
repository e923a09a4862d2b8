#!/usr/bin/env python3
"""Summarize frozen Russian holdings in one currency, as of a date, with the aggregate
estimates shown beside the sum (never added to it).

    python summarize_holdings.py --currency USD --as-of 2025-03-18 --filter "owner_kind = CENTRAL_BANK"
"""

import argparse
import os

from leverage_client import Client, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("LEVERAGE_TARGET", "localhost:50051"))
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--filter", default="", help='e.g. "owner_kind = CENTRAL_BANK"')
    parser.add_argument("--group-by", default="jurisdiction")
    args = parser.parse_args()

    with Client(args.target) as client:
        s = client.summarize_holdings(
            currency=args.currency, as_of=args.as_of, filter=args.filter, group_by=args.group_by
        )
    print(f"Located holdings as of {values.to_date(s.as_of)}, in {s.currency_code}")
    for g in s.groups:
        count = f"{g.holding_count} holding{'' if g.holding_count == 1 else 's'}"
        print(f"  {g.key:<28} {values.format_money(g.total):>18}  ({count})")
    print(f"  {'total':<28} {values.format_money(s.located_total):>18}")
    if s.estimates:
        print("Aggregate estimates, for comparison (not added):")
        for e in s.estimates:
            amount = e.converted if e.HasField("converted") else e.observation.amount
            print(f"  {values.format_money(amount):>18}  {e.coverage or e.scope}"
                  f"  [{e.observation.source.publisher}]")
    if s.rates_used:
        print("Exchange rates applied:")
        for r in s.rates_used:
            print(f"  {r.base_currency}/{r.quote_currency} {r.rate} on {values.to_date(r.as_of)}"
                  f"  [{r.source.publisher}]")


if __name__ == "__main__":
    main()
