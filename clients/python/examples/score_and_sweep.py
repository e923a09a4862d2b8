#!/usr/bin/env python3
"""Score a scenario with every loaded plugin, then sweep one lever with a progress bar and
print where the score is highest.

Each plugin gets the scenario through a builder checked against its schema: `--input NAME=VALUE`
sets an input a plugin declares itself (for the plugins that declare it), `--param NAME=VALUE`
one of the swept plugin's parameters, and a plugin whose required input is left unset says
which, without a call.

    python score_and_sweep.py --plugin prudent-pressure --lever interest_rate_pct --start 0 --stop 6 --steps 2000
    python score_and_sweep.py --plugin fixture-escrow --input escrow.share=0.4 --param weight=0.3 --lever escrow.enforcement
"""

import argparse
import os
import sys

from leverage_client import Client, SchemaViolation, values


def progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def setting(text: str):
    name, _, value = text.partition("=")
    return name.strip(), float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("LEVERAGE_TARGET", "localhost:50051"))
    parser.add_argument("--use-mode", default="reparations_loan")
    parser.add_argument("--plugin", default="prudent-pressure")
    parser.add_argument("--lever", default="sanctions_tightening")
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--stop", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--input", type=setting, action="append", default=[],
                        metavar="NAME=VALUE")
    parser.add_argument("--param", type=setting, action="append", default=[],
                        metavar="NAME=VALUE")
    args = parser.parse_args()

    inputs = dict(args.input)
    swept = None
    with Client(args.target) as client:
        for plugin in client.plugins():
            scenario = client.scenario_for(plugin, use_mode=args.use_mode, interest_rate_pct=2.0)
            for name, value in inputs.items():
                if name in scenario.own_inputs:
                    scenario.input(name, value)
            try:
                r = client.score(scenario)
            except SchemaViolation as e:  # refused before any call, in the server's words
                why = e.field_violations[0].description
                print(f"{plugin.name} {plugin.version}: not scored: {why}")
                continue
            parts = ", ".join(f"{c.name} {c.value:.1f}" for c in r.components)
            print(f"{plugin.name} {plugin.version}: {r.score:.1f} {r.score_unit}  ({parts})")
            if plugin.name == values.resource_name("plugins", args.plugin):
                swept = scenario

        print(f"Sweeping {args.lever} from {args.start} to {args.stop} "
              f"({args.steps} points) with {args.plugin}:", file=sys.stderr)
        if swept is None:
            sys.exit(f"{args.plugin} is not loaded, or could not score the scenario")
        best = None
        points = client.sweep(
            swept,
            [values.axis(args.lever, args.start, args.stop, args.steps)],
            parameters=dict(args.param),
            chunk_size=max(args.steps // 20, 1),
            on_progress=progress_bar,
        )
        for point in points:
            if not point.HasField("error") and (best is None or point.score > best.score):
                best = point
    if best is not None:
        used = ", ".join(f"{k} = {v:g}" for k, v in points.parameters.items())
        print(f"highest score {best.score:.2f} at {args.lever} = {best.lever_values[0]:.3f}"
              f" (build {points.plugin_build}, parameters {used or 'none'})")


if __name__ == "__main__":
    main()
