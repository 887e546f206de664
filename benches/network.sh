#!/usr/bin/env bash
# Start-time cost of bridge networking: N alternating runs of
#   glassbox run --rm --network none   busybox true
#   glassbox run --rm --network bridge busybox true
# in one run, on the release build, with a private data root; prints each
# median and the difference (goal: bridge adds under 5 ms).
#
#   sudo benches/network.sh [RUNS]        (default 100 runs of each)
#
# The first bridge run of a host also makes glassbox0 and the GLASSBOX chains;
# one warm-up run of each is made first and not counted. What is timed is the
# whole command (start, `true`, teardown), as a user waits for it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/glassbox
root=$(mktemp -d /tmp/glassbox-bench-net.XXXXXX)
trap '"$bin" --root "$root" cleanup >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
python3 - "$bin" "$root" "$runs" <<'PY'
import statistics, subprocess, sys, time
binary, root, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once(mode):
    t = time.perf_counter_ns()
    subprocess.run([binary, "--root", root, "run", "--rm", "--network", mode, "busybox", "true"],
                   check=True, stdin=subprocess.DEVNULL)
    return (time.perf_counter_ns() - t) / 1e6
for mode in ("none", "bridge"):
    once(mode)  # warm-up: image assembly, bridge and chains
times = {"none": [], "bridge": []}
for i in range(runs):
    order = ("none", "bridge") if i % 2 == 0 else ("bridge", "none")
    for mode in order:
        times[mode].append(once(mode))
med = {m: statistics.median(v) for m, v in times.items()}
for m in ("none", "bridge"):
    v = sorted(times[m])
    print(f"--network {m:<6}  median {med[m]:7.2f} ms   p10 {v[len(v)//10]:7.2f}   p90 {v[len(v)*9//10]:7.2f}   ({runs} runs)")
print(f"bridge adds       {med['bridge'] - med['none']:+7.2f} ms (median difference)")
PY
