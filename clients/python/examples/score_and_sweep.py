#!/usr/bin/env python3
"""Score a scenario with every loaded plugin, then sweep one lever with a progress bar and
print where the score is highest.

    python score_and_sweep.py --plugin prudent-pressure --lever interest_rate_pct --start 0 --stop 6 --steps 2000
"""

import argparse
import os
import sys

from leverage_client import Client, values


def progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("LEVERAGE_TARGET", "localhost:50051"))
    parser.add_argument("--use-mode", default="reparations_loan")
    parser.add_argument("--plugin", default="prudent-pressure")
    parser.add_argument("--lever", default="sanctions_tightening")
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--stop", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()

    base = values.scenario(args.use_mode, interest_rate_pct=2.0)
    with Client(args.target) as client:
        for plugin in client.plugins():
            r = client.score(plugin.name, base)
            parts = ", ".join(f"{c.name} {c.value:.1f}" for c in r.components)
            print(f"{plugin.name} {plugin.version}: {r.score:.1f} {r.score_unit}  ({parts})")

        print(f"Sweeping {args.lever} from {args.start} to {args.stop} "
              f"({args.steps} points) with {args.plugin}:", file=sys.stderr)
        best = None
        for point in client.sweep(
            args.plugin,
            [values.axis(args.lever, args.start, args.stop, args.steps)],
            base=base,
            chunk_size=max(args.steps // 20, 1),
            on_progress=progress_bar,
        ):
            if not point.HasField("error") and (best is None or point.score > best.score):
                best = point
    if best is not None:
        print(f"highest score {best.score:.2f} at {args.lever} = {best.lever_values[0]:.3f}")


if __name__ == "__main__":
    main()
