"""Compression from Python: gzip both ways gives the same answers as plain calls, and the server
really answered in gzip (its access log names each reply's encoding); a plain client gets plain
replies even though grpcio would accept gzip; deflate, which grpcio speaks and the server does
not, fails with UNIMPLEMENTED; zstd, which grpcio lacks, is refused before any call."""

from __future__ import annotations

import re
import time

import grpc
import pytest

from leverage_client import Client
from leverage_client.errors import LeverageError

LIST = "/leverage.v1.AssetService/ListHoldings"
ASSESS = "/leverage.v1.LegalRiskService/AssessLegalRisk"


def _replies(server, method: str, encoding: str) -> int:
    """How many replies to `method` the server's access log shows in `encoding`."""
    text = server.log.read_text(errors="replace")
    # Text log lines, colours or not: ... method=/x/Y status=Ok encoding=gzip micros=...
    pattern = re.compile(
        r"method\S*=\S*" + re.escape(method) + r"\b.*?encoding\S*=\S*?" + re.escape(encoding) + r"\b"
    )
    return sum(1 for line in text.splitlines() if pattern.search(line))


def _wait_for(server, method: str, encoding: str, at_least: int) -> int:
    """The log is written as the call ends, which may be just after the reply arrived."""
    deadline = time.monotonic() + 10
    while True:
        seen = _replies(server, method, encoding)
        if seen >= at_least or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def test_gzip_round_trips_to_the_plain_answers_and_is_gzip_on_the_wire(server, client):
    plain_list = client.list_holdings(page_size=50, as_of="2025-12-31")
    plain_assess = client.assess_legal_risk("confiscation", as_of="2025-12-31")
    assert len(plain_list.holdings) > 0 and len(plain_assess.jurisdictions) > 0

    before = {m: _replies(server, m, "gzip") for m in (LIST, ASSESS)}
    with Client(server.target, compression="gzip") as gz:
        assert gz.list_holdings(page_size=50, as_of="2025-12-31") == plain_list
        assert gz.assess_legal_risk("confiscation", as_of="2025-12-31") == plain_assess
    with Client(server.target, compression=grpc.Compression.Gzip) as gz:
        assert gz.list_holdings(page_size=50, as_of="2025-12-31") == plain_list
    assert _wait_for(server, LIST, "gzip", before[LIST] + 2) == before[LIST] + 2
    assert _wait_for(server, ASSESS, "gzip", before[ASSESS] + 1) == before[ASSESS] + 1


def test_a_plain_client_gets_plain_replies(server, client):
    before = _replies(server, LIST, "identity")
    gzip_before = _replies(server, LIST, "gzip")
    client.list_holdings(page_size=50, as_of="2025-12-31")
    assert _wait_for(server, LIST, "identity", before + 1) == before + 1
    assert _replies(server, LIST, "gzip") == gzip_before


def test_deflate_is_unimplemented_by_the_server(server):
    with Client(server.target, compression="deflate") as deflating:
        with pytest.raises(LeverageError) as failed:
            deflating.list_holdings(page_size=50, as_of="2025-12-31")
    assert failed.value.code == grpc.StatusCode.UNIMPLEMENTED, failed.value


def test_zstd_and_unknown_names_are_refused_with_the_reason(server):
    with pytest.raises(ValueError, match="grpcio has no zstd"):
        Client(server.target, compression="zstd")
    with pytest.raises(ValueError, match="expected 'none', 'gzip' or 'deflate'"):
        Client(server.target, compression="brotli")
