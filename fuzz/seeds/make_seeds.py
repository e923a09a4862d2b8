#!/usr/bin/env python3
"""Writes the seed corpora of `proto_requests` (hand-encoded protobuf, one request of each kind)
and `plugin_header` (pieces of a real ELF file). Run from fuzz/: python3 seeds/make_seeds.py
[path/to/a/plugin.so]"""
import os, struct, sys

def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def key(field, wire):
    return varint(field << 3 | wire)

def v(field, n):
    return key(field, 0) + varint(n)

def d(field, x):
    return key(field, 1) + struct.pack("<d", x)

def s(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return key(field, 2) + varint(len(payload)) + payload

def date(field, y, m, dd):
    return s(field, v(1, y) + v(2, m) + v(3, dd))

def scenario(field):
    return s(field, v(1, 5) + s(2, s(1, "BE") + d(2, 0.5)) + s(2, s(1, "FR") + d(2, 1.0))
             + d(3, 3.0) + d(4, 0.2) + d(5, 0.75) + d(6, 2.0) + v(7, 1) + d(8, 0.5) + v(9, 5)
             + date(10, 2025, 12, 31))

money = lambda field, cur, units, nanos: s(field, s(1, cur) + v(2, units) + v(3, nanos))

seeds = {
    "score_scenario": bytes([0]) + s(1, "plugins/pressure-index") + scenario(2),
    "create_observation": bytes([1]) + s(1, "holdings/euroclear-bank") + s(2, "x-1")
        + s(3, money(3, "EUR", 195000000000, 0) + money(4, "EUR", 200000000000, 5)
            + v(5, 2) + date(6, 2025, 6, 30) + s(8, s(1, "Euroclear") + s(2, "Q2"))
            + v(9, 3) + v(10, 1) + s(11, "note")),
    "list_holdings": bytes([2]) + v(1, 2) + s(3, 'owner_kind = CENTRAL_BANK AND custodian = "Euroclear Bank"')
        + s(4, "amount desc") + date(5, 2025, 12, 31) + v(6, 2),
    "list_holdings_jurisdiction": bytes([2]) + v(1, 1) + s(3, "kind = LOCATED AND jurisdiction = BE")
        + s(4, "jurisdiction"),
    "summarize_holdings": bytes([3]) + s(1, "kind = LOCATED") + v(2, 2) + s(3, "USD") + date(4, 2024, 12, 31),
    "sweep_scenario": bytes([4]) + s(1, "plugins/pressure-index") + scenario(2)
        + s(3, v(1, 1) + d(2, 0.0) + d(3, 20.0) + v(4, 5))
        + s(3, v(1, 7) + d(2, 1.0) + d(3, 0.0) + v(4, 3)) + v(4, 10),
}
os.makedirs("seeds/proto_requests", exist_ok=True)
for name, data in seeds.items():
    with open(f"seeds/proto_requests/{name}", "wb") as f:
        f.write(data)

if len(sys.argv) > 1:
    elf = open(sys.argv[1], "rb").read()
    os.makedirs("seeds/plugin_header", exist_ok=True)
    for n in (16, 64, 680, 1024, 4096):
        with open(f"seeds/plugin_header/elf-first-{n}", "wb") as f:
            f.write(elf[:n])
    with open("seeds/plugin_header/magic", "wb") as f:
        f.write(b"LVRGPLUG" * 8)
