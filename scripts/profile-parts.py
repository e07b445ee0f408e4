#!/usr/bin/env python3
"""profile-parts.py BINARY PROFILE: a CPU profile of an Okta run split into
the parts of README, Performance ("CPU per user of an Okta full run"): every
sample counted once, under the first part whose function is in its stack,
in the order below (the database's only when its frames are the innermost:
see in_database). Take the profile with
  NC_CPU_PROFILE=run.pprof neurons-connector run NAME
or `neurons-connector bench --cpu-profiles DIR`, or for several builds
against one simulator scripts/profile-runs.sh DIR BIN.... Needs `go tool pprof`."""
import collections
import re
import subprocess
import sys

# (part, functions that put a sample in it, or "innermost" for in_database),
# first match wins.
PARTS = [
    ("inflating answers", ["flate.(*decompressor)", "gzip.(*Reader)"]),
    ("gzip of batch bodies", ["sink.Pack"]),
    ("the mapping", ["mapping.(*Table).AppendTo"]),
    ("records as JSON and their hash", ["recordHash", "highwayhash", "AppendJSON", "MarshalJSON"]),
    ("batch bodies", ["sink.(*Batch).Body"]),
    ("users pages decoded", ["DecodeObjectsFrom", "DecodeObjectsKeeping"]),
    ("the sweeps' pages", ["DecodeItemsFrom"]),
    ("the sweeps' join", ["okta.(*enrichment)", "okta.pack", "okta.deviceRaw", "okta.(*numbering)", "okta.(*Client).sweep"]),
    ("the collector's own work", ["gcBgMarkWorker", "bgsweep", "bgscavenge"]),
    ("the database", "innermost"),  # see in_database
    ("network and system calls", ["net/http", "internal/poll", "syscall"]),
    ("the rest: engine", ["engine."]),
    ("the rest: okta", ["okta."]),
]


def in_database(frames):
    """Whether the innermost of the program's own frames (or bbolt's) in a
    sample, leaf first, is the store's or bbolt's: the engine's own work in
    a transaction (bbolt's View and Update call it) is not the database's."""
    for f in frames:
        if "go.etcd.io/bbolt" in f or f.startswith("neurons-connector/store."):
            return True
        if f.startswith("neurons-connector/"):
            return False
    return False


def part_of(frames):
    stack = " ".join(frames)
    for part, fns in PARTS:
        if fns == "innermost":
            if in_database(frames):
                return part
        elif any(fn in stack for fn in fns):
            return part
    return "other"


def main(binary, profile):
    raw = subprocess.run(["go", "tool", "pprof", "-raw", binary, profile],
                         capture_output=True, text=True, check=True).stdout
    samples = raw.split("Samples:")[1].split("Locations")[0]
    locations = {}
    current = None
    for line in raw.split("Locations")[1].split("Mappings")[0].splitlines():
        m = re.match(r"\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", line)
        if m:
            current = m.group(1)
            locations[current] = [m.group(2)]
            continue
        m = re.match(r"\s+(\S+) \S+:\d+", line)
        if m and current:
            locations[current].append(m.group(1))
    parts = collections.Counter()
    total = 0
    for line in samples.splitlines()[2:]:
        m = re.match(r"\s*(\d+)\s+(\d+): (.*)", line)
        if not m:
            continue
        nanos = int(m.group(2))
        frames = [f for loc in m.group(3).split() for f in locations.get(loc, [])]
        total += nanos
        parts[part_of(frames)] += nanos
    for part, nanos in parts.most_common():
        print(f"{nanos / 1e9:7.2f} s  {part}")
    print(f"{total / 1e9:7.2f} s  total")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
