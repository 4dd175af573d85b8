#!/usr/bin/env python3
"""Writes the hand-made seeds of the UPDATE fuzz targets: tests/fuzz/corpus_update/ (one UPDATE
each, fuzz_update) and tests/fuzz/corpus_update_sequence/ (runs of them, each message after a
2-byte length, fuzz_update_sequence).

Each seed is one RFC 2136 UPDATE of example.test. (configs/example.test.zone) exercising one
rule: adds of several types, the four kinds of delete, the five prerequisites, SOA and apex NS
rules, CNAME rules, RFC 3597 unknown types, names with odd bytes. Run it from anywhere; it
only (re)writes files named seed-*.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus_update")
IN, NONE, ANY = 1, 254, 255
A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, CAA, ANYTYPE = 1, 2, 5, 6, 15, 16, 28, 33, 257, 255


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            raw = label.encode("latin-1")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def rr(owner, rtype, rclass, ttl, rdata=b""):
    return name(owner) + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def update(prereqs=(), updates=(), zone="example.test.", ident=0x4242):
    header = struct.pack("!HHHHHH", ident, 5 << 11, 1, len(prereqs), len(updates), 0)
    return header + name(zone) + struct.pack("!HH", SOA, IN) + b"".join(prereqs) + b"".join(updates)


def soa(serial):
    return name("ns1.example.test.") + name("hostmaster.example.test.") + struct.pack(
        "!IIIII", serial, 7200, 3600, 1209600, 300)


def txt(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


Z = "example.test."
SEEDS = {
    "add-a": update(updates=[rr("new." + Z, A, IN, 300, bytes([192, 0, 2, 99]))]),
    "add-aaaa-mx-srv": update(updates=[
        rr("v6." + Z, AAAA, IN, 300, bytes(range(16))),
        rr("mx." + Z, MX, IN, 300, struct.pack("!H", 10) + name("mail." + Z)),
        rr("_x._tcp." + Z, SRV, IN, 60, struct.pack("!HHH", 1, 2, 443) + name("www." + Z))]),
    "add-txt-odd-bytes": update(updates=[
        rr("t." + Z, TXT, IN, 1,
           txt(b'quote " and \\ backslash', b"", bytes(range(0, 32)), b";(){}$@"))]),
    "add-owner-odd-bytes": update(updates=[
        rr("a\\.b." + Z, A, IN, 5, bytes([192, 0, 2, 1])),
        rr("sp ace.@.(x)." + Z, A, IN, 5, bytes([192, 0, 2, 2]))]),
    "add-unknown-type": update(updates=[rr("u." + Z, 65280, IN, 30, b"\x00\x01\xff"),
                                        rr("u." + Z, 65281, IN, 30, b"")]),
    "add-caa": update(updates=[rr(Z, CAA, IN, 300, b"\x80\x05issue" + b"ca.example")]),
    "add-cname-beside-data": update(updates=[rr("www." + Z, CNAME, IN, 300, name("mail." + Z))]),
    "add-cname-new-name": update(updates=[rr("alias." + Z, CNAME, IN, 300, name("www." + Z)),
                                          rr("alias." + Z, A, IN, 300, bytes([192, 0, 2, 3]))]),
    "soa-newer-serial": update(updates=[rr(Z, SOA, IN, 3600, soa(2026112700))]),
    "soa-older-serial": update(updates=[rr(Z, SOA, IN, 3600, soa(1))]),
    # Each newer than the one before, the last behind the zone's 2026112601 (RFC 1982).
    "soa-chain-back": update(updates=[
        rr(Z, SOA, IN, 3600, soa((2026112601 + 0x7FFFFFFF) % 2**32)),
        rr(Z, SOA, IN, 3600, soa((2026112601 + 0xC0000000) % 2**32)),
        rr("x." + Z, A, IN, 60, bytes([192, 0, 2, 16]))]),
    "delete-rrset": update(updates=[rr("www." + Z, AAAA, ANY, 0)]),
    "delete-name": update(updates=[rr("mail." + Z, ANYTYPE, ANY, 0)]),
    "delete-record": update(updates=[rr("www." + Z, A, NONE, 0, bytes([192, 0, 2, 10]))]),
    "delete-apex-ns-and-soa": update(updates=[rr(Z, NS, ANY, 0), rr(Z, SOA, ANY, 0),
                                              rr(Z, ANYTYPE, ANY, 0)]),
    "delete-last-ns-records": update(updates=[
        rr(Z, NS, NONE, 0, name("ns1." + Z)), rr(Z, NS, NONE, 0, name("ns2." + Z))]),
    "ttl-change": update(updates=[rr("www." + Z, A, IN, 42, bytes([192, 0, 2, 10]))]),
    "prereq-exists-then-add": update(
        prereqs=[rr("www." + Z, A, ANY, 0)],
        updates=[rr("www." + Z, TXT, IN, 60, txt(b"cas"))]),
    "prereq-value": update(
        prereqs=[rr("www." + Z, A, IN, 0, bytes([192, 0, 2, 10]))],
        updates=[rr("www." + Z, A, NONE, 0, bytes([192, 0, 2, 10])),
                 rr("www." + Z, A, IN, 300, bytes([192, 0, 2, 11]))]),
    "prereq-absent-name-not-in-use": update(
        prereqs=[rr("free." + Z, A, NONE, 0), rr("free." + Z, ANYTYPE, NONE, 0)],
        updates=[rr("free." + Z, A, IN, 60, bytes([192, 0, 2, 12]))]),
    "prereq-name-in-use-fails": update(
        prereqs=[rr("nothere." + Z, ANYTYPE, ANY, 0)],
        updates=[rr("nothere." + Z, A, IN, 60, bytes([192, 0, 2, 13]))]),
    "deep-names-and-wildcard": update(updates=[
        rr("a.b.c.d.e.f." + Z, A, IN, 60, bytes([192, 0, 2, 14])),
        rr("*.w." + Z, TXT, IN, 60, txt(b"wild")),
        rr("c.d.e.f." + Z, ANYTYPE, ANY, 0)]),
    "delegation": update(updates=[rr("sub." + Z, NS, IN, 60, name("ns.sub." + Z)),
                                  rr("ns.sub." + Z, A, IN, 60, bytes([192, 0, 2, 15]))]),
}

# Runs where a later UPDATE meets what an earlier one made or removed.
SEQUENCES = {
    "cname-then-data": ["add-cname-new-name", "add-a",
                        update(updates=[rr("alias." + Z, A, IN, 300, bytes([192, 0, 2, 3]))])],
    "cname-removed-then-data": [
        "add-cname-new-name", update(updates=[rr("alias." + Z, CNAME, ANY, 0)]),
        update(updates=[rr("alias." + Z, A, IN, 300, bytes([192, 0, 2, 3]))])],
    "cas-twice": ["prereq-absent-name-not-in-use", "prereq-absent-name-not-in-use"],
    "value-cas-twice": ["prereq-value", "prereq-value", "ttl-change"],
    "soa-up-and-back": ["soa-newer-serial", "soa-older-serial", "soa-chain-back", "add-a"],
    "deep-then-cut": ["deep-names-and-wildcard",
                      update(updates=[rr("a.b.c.d.e.f." + Z, ANYTYPE, ANY, 0)]),
                      update(updates=[rr("e.f." + Z, A, IN, 60, bytes([192, 0, 2, 20]))])],
    "delegation-then-below": ["delegation",
                              update(updates=[rr("x.sub." + Z, A, IN, 60, bytes([192, 0, 2, 21]))]),
                              update(updates=[rr("sub." + Z, NS, ANY, 0)])],
    "apex-rules-then-add": ["delete-apex-ns-and-soa", "delete-last-ns-records", "add-caa"],
    "add-delete-add": ["add-a", update(updates=[rr("new." + Z, A, NONE, 0, bytes([192, 0, 2, 99]))]),
                       "add-a", "delete-record", "delete-rrset", "delete-name"],
    "odd-bytes": ["add-owner-odd-bytes", "add-txt-odd-bytes", "add-unknown-type",
                  update(updates=[rr("u." + Z, 65280, ANY, 0)])],
}

os.makedirs(OUT, exist_ok=True)
for seed_name, message in SEEDS.items():
    with open(os.path.join(OUT, "seed-" + seed_name), "wb") as f:
        f.write(message)
print("wrote %d seeds to %s" % (len(SEEDS), OUT))

OUT_SEQUENCE = os.path.join(HERE, "corpus_update_sequence")
os.makedirs(OUT_SEQUENCE, exist_ok=True)
for seed_name, steps in SEQUENCES.items():
    with open(os.path.join(OUT_SEQUENCE, "seed-" + seed_name), "wb") as f:
        for step in steps:
            message = SEEDS[step] if isinstance(step, str) else step
            f.write(struct.pack("!H", len(message)) + message)
print("wrote %d seeds to %s" % (len(SEQUENCES), OUT_SEQUENCE))
