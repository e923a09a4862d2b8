"""Fixtures: fresh stubs from proto/, and the REAL server binary on a free port.

The server is the `leverage` binary named by LEVERAGE_BIN, with the scoring plugins of
LEVERAGE_PLUGIN_DIR (the bundled ones, and the fixture fixture-escrow for the tests of a plugin's
own inputs and parameters), a temporary data directory (so it imports the embedded dataset), and a
token given through LEVERAGE_TOKENS. `cargo test` runs this suite through
crates/leverage/tests/python_client.rs, which builds both and sets the two variables; to run it
by hand:

    cargo build -p leverage
    LEVERAGE_BIN=target/debug/leverage LEVERAGE_PLUGIN_DIR=<dir with the plugin .so files> \
        python -m pytest clients/python/tests

where the directory holds libleverage_plugin_*.so and target/e2e-plugins/debug/
libfixture_escrow_v1.so (which the e2e tests build), the latter renamed libfixture_escrow.so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CLIENT_DIR))
sys.path.insert(0, str(CLIENT_DIR / "src"))

import generate  # noqa: E402

# Regenerate the stubs before anything imports them, so the suite tests the contract as it is
# in this checkout, not stubs left from an earlier build.
generate.generate()

from leverage_client import Client  # noqa: E402

WRITER_TOKEN = "pytest-writer-token-0123"
READER_TOKEN = "pytest-reader-token-0123"
START_TIMEOUT_S = 60


class Server:
    """A running `leverage serve`."""

    def __init__(self, process: subprocess.Popen, target: str, log: Path, data_dir: Path):
        self.process = process
        self.target = target
        self.log = log
        self.data_dir = data_dir

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _required_path(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value:
        pytest.exit(
            f"{variable} is not set: this suite starts the real server; see tests/conftest.py",
            returncode=2,
        )
    path = Path(value)
    if not path.exists():
        pytest.exit(f"{variable}={value} does not exist", returncode=2)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(binary: Path, plugin_dir: Path, data_dir: Path, log: Path) -> Server:
    port = _free_port()
    # Only the settings below: a LEVERAGE_* variable of the caller's shell must not change
    # the server under test (the flags given here win over the rest anyway).
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEVERAGE_")}
    env.update(
        LEVERAGE_TOKENS=f"pytest:editor={WRITER_TOKEN},viewer:reader={READER_TOKEN}",
        # The access log's line per call names the encoding of its reply, which
        # tests/test_compression.py reads.
        LEVERAGE_LOG="warn,leverage_server::access_log=debug",
    )
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(data_dir),
                "--plugin-dir",
                str(plugin_dir),
                "--drain-ms",
                "0",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"127.0.0.1:{port}", log, data_dir)


def _wait_ready(server: Server) -> bool:
    """True once the server answers a call; False if it exited (e.g. the port was taken)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with Client(server.target, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                client.dataset_info()
                return True
            except Exception:
                time.sleep(0.05)
    raise RuntimeError(
        f"the server did not answer within {START_TIMEOUT_S}s:\n{server.log_tail()}"
    )


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def synthetic_holding(scope: str):
    """A located holding for a test to create: a central bank's cash in LU, no observation."""
    from leverage_client.v1 import assets_pb2

    return assets_pb2.Holding(
        kind=assets_pb2.HOLDING_KIND_LOCATED,
        scope=scope,
        owner_kind=assets_pb2.OWNER_KIND_CENTRAL_BANK,
        jurisdiction="LU",
        instrument=assets_pb2.ASSET_INSTRUMENT_CASH,
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    binary = _required_path("LEVERAGE_BIN")
    plugin_dir = _required_path("LEVERAGE_PLUGIN_DIR")
    root = tmp_path_factory.mktemp("leverage")
    log = root / "server.log"
    for attempt in range(3):  # another process may take the free port before the server does
        data_dir = root / f"data-{attempt}"
        srv = _start(binary, plugin_dir, data_dir, log)
        if _wait_ready(srv):
            break
        _stop(srv)
    else:
        raise RuntimeError(f"the server exited at start three times:\n{srv.log_tail()}")
    yield srv
    _stop(srv)
    if srv.process.returncode not in (0, -signal.SIGTERM):
        print(f"server exited with {srv.process.returncode}:\n{srv.log_tail()}")


@pytest.fixture(scope="session")
def client(server) -> Client:
    """A client without a token: reads are open."""
    with Client(server.target) as c:
        yield c


@pytest.fixture(scope="session")
def writer(server) -> Client:
    """A client with an editor's token."""
    with Client(server.target, token=WRITER_TOKEN) as c:
        yield c


@pytest.fixture(scope="session")
def escrow_plugin(client):
    """The fixture plugin fixture-escrow, with inputs of its own and parameters (GetPlugin)."""
    name = "plugins/fixture-escrow"
    if name not in {p.name for p in client.plugins()}:
        pytest.skip(
            "the server has no fixture-escrow: put target/e2e-plugins/debug/"
            "libfixture_escrow_v1.so in LEVERAGE_PLUGIN_DIR (python_client.rs does)"
        )
    return client.get_plugin(name)


@pytest.fixture(scope="session")
def reader(server) -> Client:
    """A client with a reader's token (may read, may not write)."""
    with Client(server.target, token=READER_TOKEN) as c:
        yield c
