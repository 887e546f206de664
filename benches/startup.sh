#!/usr/bin/env bash
# Start-up benchmark: `glassbox run --rm --network none busybox true` against
# crun and runc running an equivalent OCI bundle (the same config.json glassbox
# writes, on a copy of the same busybox root filesystem), in one run: every round
# runs each runtime once in a random order, first back to back (as a script
# does), then 100 ms apart (as a person types, when the kernel is idle between).
# Beside them: the kernel's floor (`unshare` of the same five namespaces, fork,
# execve of /bin/true) and a plain /bin/true. Wall time, time until every
# process a start left behind has exited, and CPU time; see startup.py.
#
#   sudo benches/startup.sh [RUNS]        (default 200 runs of each)
#   sudo GLASSBOX_BASELINE=/path/to/old/glassbox benches/startup.sh 40   (before/after)
#
# The machine's load average is printed before and after each part: on a
# shared machine, compare only figures taken in one run.
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
