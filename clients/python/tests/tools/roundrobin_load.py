#!/usr/bin/env python3
"""Load on a fleet of replicas through one round-robin channel, as a client behind no balancer
would run it; crates/leverage/tests/replicas_kill.rs kills a replica meanwhile.

Reader threads make a mix of reads; one writer thread adds observations to a holding of its own
and reads each back at once (the client asks for its write's version, so any replica must show
it). The channel retries UNAVAILABLE on the API's services, so that a replica dying under a call,
or being dialled while it is down, costs a retry on another replica, not a failure; a call cut
off after its reply had begun, which gRPC does not retry, is made again here (see `attempt`).

Prints one JSON object: the calls made, every failure, the calls cut off and made again, and the
acknowledged writes with the dataset version that holds each, for the caller to read back.

    python roundrobin_load.py --targets 127.0.0.1:5001,127.0.0.1:5002 --token T --seconds 10
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import threading
import time
import uuid
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CLIENT_DIR))
sys.path.insert(0, str(CLIENT_DIR / "src"))

import generate  # noqa: E402

# The stubs of this checkout's proto/, as the client's test suite makes them.
generate.generate()

import grpc  # noqa: E402

from leverage_client import AlreadyExists, Client, LeverageError, Unavailable, values  # noqa: E402
from leverage_client.v1 import assets_pb2, common_pb2  # noqa: E402

SERVICES = (
    "leverage.v1.AssetService",
    "leverage.v1.DatasetService",
    "leverage.v1.LegalRiskService",
    "leverage.v1.DefenceFundingService",
    "leverage.v1.ScoringService",
)

# gRPC caps maxAttempts at 5; with these backoffs the last attempt comes about 1.5 s after the
# first, longer than a round-robin channel takes to see that a replica is gone.
RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def channel(targets: str) -> grpc.Channel:
    config = {
        "methodConfig": [
            {"name": [{"service": s} for s in SERVICES], "retryPolicy": RETRY_POLICY}
        ]
    }
    return grpc.insecure_channel(
        "ipv4:" + targets,
        options=[
            ("grpc.lb_policy_name", "round_robin"),
            # gRPC would send the whole address list as the :authority, which the server's
            # HTTP/2 layer refuses as malformed (RST_STREAM, PROTOCOL_ERROR) before any
            # handler sees the call.
            ("grpc.default_authority", targets.split(",")[0]),
            ("grpc.enable_retries", 1),
            ("grpc.service_config", json.dumps(config)),
            # A restarted replica is dialled again within half a second, not after gRPC's
            # default backoff of up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ],
    )


class Tally:
    """Counts shared by the threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.failures: list[str] = []
        self.cut: list[str] = []
        self.writes: list[dict] = []
        self.writes_found_by_retry = 0

    def call(self) -> None:
        with self.lock:
            self.calls += 1

    def fail(self, what: str, error: BaseException) -> None:
        with self.lock:
            self.calls += 1
            self.failures.append(f"{what}: {error!r} {error} (reply headers: {_headers(error)})")


def _headers(error: BaseException):
    cause = error.__cause__
    return cause.initial_metadata() if isinstance(cause, grpc.Call) else None


# How often a call cut off after its reply began is made again, and how long to wait between.
CUT_RETRIES = 3
CUT_BACKOFF_S = 0.1


def attempt(tally: Tally, what: str, call):
    """`call()`, made again when a replica died after its reply had begun.

    The channel retries UNAVAILABLE only until the reply's headers arrive (gRPC then counts the
    call as committed); a replica killed between its headers and the rest of its reply leaves
    the call UNAVAILABLE with the headers in hand. Such a call is made again here, as an
    application must for a read or an idempotent write, and counted apart; a call failed any
    other way is a failure.
    """
    for n in range(CUT_RETRIES + 1):
        try:
            result = call()
        except Unavailable as e:
            if n == CUT_RETRIES or not _headers(e):
                raise
            with tally.lock:
                tally.calls += 1
                tally.cut.append(f"{what}: {e}")
            time.sleep(CUT_BACKOFF_S)
            continue
        tally.call()
        return result


def read_loop(client: Client, stop: threading.Event, tally: Tally) -> None:
    reads = (
        ("GetHolding", lambda: client.get_holding("euroclear-sanctioned-russian")),
        ("ListHoldings", lambda: client.list_holdings(page_size=20)),
        ("GetDatasetInfo", lambda: client.dataset_info()),
        ("AssessLegalRisk", lambda: client.assess_legal_risk("confiscation", ["BE"])),
        ("CheckEligibility", lambda: client.check_eligibility("PL", as_of="2025-12-01")),
    )
    i = 0
    while not stop.is_set():
        what, read = reads[i % len(reads)]
        i += 1
        try:
            attempt(tally, what, read)
        except LeverageError as e:
            tally.fail(what, e)


def observation(n: int) -> assets_pb2.Observation:
    return assets_pb2.Observation(
        amount=common_pb2.Money(currency_code="EUR", units=1_000_000 + n),
        as_of=values.date(datetime.date(2020, 1, 1) + datetime.timedelta(days=n)),
        source=common_pb2.Source(publisher="roundrobin_load.py (synthetic)"),
        confidence=common_pb2.CONFIDENCE_LOW,
    )


def write_loop(client: Client, holding: str, stop: threading.Event, tally: Tally) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        observation_id = f"o-{n:05d}"
        try:
            attempt(
                tally,
                f"CreateObservation {observation_id}",
                lambda: client.create_observation(
                    holding, observation(n), observation_id=observation_id
                ),
            )
            version = client.last_dataset_version
            found_by_retry = False
        except AlreadyExists:
            # The id is this run's own: a replica applied the write and died before its reply
            # was through, and a retry (the channel's or ours) found it applied. The write
            # stands; the read below confirms it and names a version that holds it.
            tally.call()
            version = None
            found_by_retry = True
        except LeverageError as e:
            tally.fail(f"CreateObservation {observation_id}", e)
            continue
        try:
            # Asks for at least the write's version: whichever replica answers shows it.
            read = attempt(tally, "GetHolding (read back)", lambda: client.get_holding(holding))
        except LeverageError as e:
            tally.fail(f"read back {observation_id}", e)
            continue
        ids = {o.name.rsplit("/", 1)[-1] for o in read.observations}
        if observation_id not in ids:
            tally.fail(
                f"read back {observation_id}",
                AssertionError(f"missing at dataset version {client.last_dataset_version}"),
            )
            continue
        with tally.lock:
            tally.writes.append(
                {"id": observation_id, "version": version or client.last_dataset_version}
            )
            tally.writes_found_by_retry += found_by_retry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", required=True, help="host:port,host:port,...")
    parser.add_argument("--token", required=True, help="an editor's token")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--readers", type=int, default=3)
    args = parser.parse_args()

    shared = channel(args.targets)
    # Each thread has a client of its own on the one channel: `last_dataset_version` is the
    # version of that thread's own last reply.
    writer = Client(channel=shared, token=args.token, timeout=10)
    holding_id = f"kill-test-{uuid.uuid4().hex[:10]}"
    writer.create_holding(
        holding_id,
        assets_pb2.Holding(
            kind=assets_pb2.HOLDING_KIND_LOCATED,
            scope="Synthetic holding of the replica kill test",
            owner_kind=assets_pb2.OWNER_KIND_CENTRAL_BANK,
            jurisdiction="LU",
            instrument=assets_pb2.ASSET_INSTRUMENT_CASH,
        ),
    )

    tally = Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=write_loop, args=(writer, holding_id, stop, tally)),
        *(
            threading.Thread(
                target=read_loop, args=(Client(channel=shared, timeout=10), stop, tally)
            )
            for _ in range(args.readers)
        ),
    ]
    # The caller times its kill from this line.
    print("started", file=sys.stderr, flush=True)
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    shared.close()

    json.dump(
        {
            "holding": f"holdings/{holding_id}",
            "calls": tally.calls,
            "seconds": round(elapsed, 2),
            "failures": tally.failures,
            "cut": tally.cut,
            "threads": len(threads),
            "writes": tally.writes,
            "writes_found_by_retry": tally.writes_found_by_retry,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
