#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (corpus/<target>/): one valid
message of every kind the decoders know, plus near misses, so fuzzing starts
past the magic numbers. Layouts mirror core/common/*_protocol.hpp."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERA, VERP, VERD, VEIQ, VEIP, VECM = 0x56455241, 0x56455250, 0x56455244, 0x56454951, 0x56454950, 0x5645434D
VEMVA = 0x600000000000
PAGE = 64 << 20
PCI, NONE, RO = 0x4, 0x1000, 0x1


def attach_request(kind=1, vemva=VEMVA, size=PAGE, flags=PCI, node=0, token=1, magic=VERA):
    return struct.pack("<IIQQqiiII", magic, kind, vemva, size, flags, 0, node, token, 0)


def attach_reply(error=0, read_only=0, token=1):
    return struct.pack("<IiiIQII", VERP, error, 0, read_only, 0, token, 0)


def area_info(vemva, size, flags, attachments=0, closed=0):
    return struct.pack("<QQqII", vemva, size, flags, attachments, closed)


def info_reply(areas, count=None):
    n = len(areas) if count is None else count
    head = struct.pack("<IiiiIIQQQIIIIII", VEIP, 0, 0, 1, 0, n, 48 << 30, 0, PAGE, 1, 1024, 1, 1024, 0, 1)
    return head + b"".join(areas)


def control(type_, payload, seq=1):
    msg = struct.pack("<IIII", VECM, type_, len(payload), seq) + payload
    return struct.pack("<H", len(msg)) + msg


def key(vemva=VEMVA, size=PAGE, flags=PCI):
    return struct.pack("<QQqii", vemva, size, flags, 0, 0)


def map_request(vemva=0x700000000000, size=PAGE, ro=0):
    return struct.pack("<QQQII", vemva, size, 0, ro, 0)


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def rkey(kind=1, pid=4242, syncnum=0, flags=PCI, granule=PAGE, area=(1 << 63) | VEMVA, count=1,
         addr=0x7F0000000000, region=None, length=PAGE, guid=0x1234, epoch=0x5eed, version=2,
         checksum=None):
    """Packed remote key of the UCX transport (ucx_tl_veshm/veshm_rkey_format.h)."""
    region = area if region is None else region
    body = struct.pack("<IHHIiQQQIIQQQQQ", 0x4B485356, version, kind, pid, syncnum, flags, granule,
                       area, count, 0, addr, region, length, guid, epoch)
    return body + struct.pack("<II", fnv1a(body) if checksum is None else checksum, 0)


SEEDS = {
    "owner_messages": {
        "attach_vehva": attach_request(),
        "attach_vemva_ro": attach_request(kind=2, flags=NONE | RO),
        "attach_wrapping": attach_request(vemva=2**64 - PAGE, size=2 * PAGE),
        "attach_short": attach_request()[:40],
        "detach": struct.pack("<II", VERD, 7),
        "info": struct.pack("<II", VEIQ, 0),
    },
    "attach_reply": {
        "granted": attach_reply(),
        "granted_ro": attach_reply(read_only=1),
        "eacces": attach_reply(error=13),
        "bad_error": attach_reply(error=-1),
    },
    "info_reply": {
        "empty": info_reply([]),
        "two_areas": info_reply([area_info(VEMVA, PAGE, PCI, 1), area_info(VEMVA + PAGE, PAGE, NONE, 0, 1)]),
        "count_too_big": info_reply([area_info(VEMVA, PAGE, PCI)], count=2),
    },
    "control_messages": {
        "register_unregister": control(1, key()) + control(2, key()),
        "register_twice": control(1, key(flags=NONE)) + control(1, key(flags=NONE)),
        "pciatb_pages": control(1, key(size=1024 * PAGE)) + control(1, key(vemva=VEMVA + PAGE)),
        "swap": control(5, struct.pack("<I", 1)) + control(5, struct.pack("<I", 0)),
        "map_without_fd": control(3, map_request()),
        "unmap_nothing": control(4, map_request()),
        "unknown_type": control(99, b"") + control(100, b"x" * 8),
        "short_header": struct.pack("<H", 8) + b"VECMVECM",
    },
    "rkey": {
        "ve_one_area": rkey(),
        "ve_many_areas": rkey(count=16, region=((1 << 63) | VEMVA) + 3 * PAGE + 4096, length=5 * PAGE),
        "ve_2m_granule_ro": rkey(flags=NONE | RO, granule=2 << 20, count=3, length=(6 << 20) - 8),
        "host": rkey(kind=2, pid=0, flags=0, granule=0, area=0, count=0, addr=0, region=0, length=0,
                     epoch=0),
        "region_outside": rkey(count=2, region=((1 << 63) | VEMVA) + PAGE, length=2 * PAGE),
        "bad_checksum": rkey(checksum=0),
        "version_1": rkey(version=1),
        "truncated": rkey()[:60],
    },
}


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
