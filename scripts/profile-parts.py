#!/usr/bin/env python3
"""profile-parts.py BINARY PROFILE: a CPU profile of an Okta run split into
the parts of README, Performance ("CPU per user of an Okta full run"): every
sample counted once, under the first part whose function is in its stack,
in the order below. Take the profile with
  NC_CPU_PROFILE=run.pprof neurons-connector run NAME
or `neurons-connector bench --cpu-profiles DIR`, or for several builds
against one simulator scripts/profile-runs.sh DIR BIN.... Needs `go tool pprof`."""
import collections
import re
import subprocess
import sys

# (part, functions that put a sample in it), first match wins.
PARTS = [
    ("inflating answers", ["flate.(*decompressor)", "gzip.(*Reader)"]),
    ("gzip of batch bodies", ["sink.Pack"]),
    ("the mapping", ["mapping.(*Table).AppendTo"]),
    ("records as JSON and their hash", ["recordHash", "AppendJSON", "MarshalJSON"]),
    ("batch bodies", ["sink.(*Batch).Body"]),
    ("users pages decoded", ["DecodeObjectsFrom", "DecodeObjectsKeeping"]),
    ("the sweeps' pages", ["DecodeItemsFrom"]),
    ("the sweeps' join", ["okta.(*enrichment)", "okta.deviceRaw", "okta.(*numbering)", "okta.(*Client).sweep"]),
    ("the collector's own work", ["gcBgMarkWorker", "bgsweep", "bgscavenge"]),
    ("the database", ["bbolt"]),
    ("network and system calls", ["net/http", "internal/poll", "syscall"]),
    ("the rest: engine", ["engine."]),
    ("the rest: okta", ["okta."]),
]


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
        stack = " ".join(f for loc in m.group(3).split() for f in locations.get(loc, []))
        total += nanos
        part = next((p for p, fns in PARTS if any(fn in stack for fn in fns)), "other")
        parts[part] += nanos
    for part, nanos in parts.most_common():
        print(f"{nanos / 1e9:7.2f} s  {part}")
    print(f"{total / 1e9:7.2f} s  total")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
