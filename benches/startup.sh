#!/usr/bin/env bash
# Start-up benchmark: `glassbox run --rm --network none busybox true` against
# crun and runc running an equivalent OCI bundle (the same config.json glassbox
# writes, on a copy of the same busybox root filesystem), in one run: every round
# runs each runtime once in a random order, first back to back (as a script
# does), then 100 ms apart (as a person types, when the kernel is idle between).
#
#   sudo benches/startup.sh [RUNS]        (default 200 runs of each)
#
# crun refuses this kind of host's hybrid cgroup layout (a cgroup2 mount at
# /sys/fs/cgroup/unified beside v1), so the whole comparison runs in a private
# mount namespace without that mount: all three runtimes see the same host.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release --quiet
bin=$PWD/target/release/glassbox
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
  exec unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh \
    python3 benches/startup.py "$bin" "$runs"
fi
exec python3 benches/startup.py "$bin" "$runs"
