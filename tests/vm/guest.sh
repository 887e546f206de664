#!/bin/bash
# Runs inside the pure cgroup v2 guest that tests/vm/cgroup-v2.sh boots.
#
# The guest sees the host's root file system read-only over 9p, so the test
# binaries built on the host run here as they are. Everything they write goes
# to a fresh tmpfs on /tmp (overlayfs needs a real upper file system, which 9p
# is not). Results go to OUT (a --rwdir shared with the host), one file per
# test binary, never through the console, where the kernel's lines interleave.
#
# usage: guest.sh OUT PYTHON
#   OUT/plan: "NAME BINARY QUEUE [ARGS]" lines (ARGS: libtest's, e.g. --skip). Each queue runs its binaries one after
#   the other; the queues run side by side (binaries that publish fixed host
#   ports share one queue). OUT/env: GLASSBOX (the binary the tests start) and
#   CENSUS (the leak census, or empty). PYTHON: the venv's python3 (the guest
#   sees the host's files).
set -u
out=$1 py=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)

# virtme-ng's init, PID 1 here, does not reap orphans, as a host's init does:
# killed containers would stay zombies. A child subreaper above the tests
# (prctl PR_SET_CHILD_SUBREAPER) adopts and reaps them.
if [ -z "${LANE_REAPER:-}" ]; then
  export LANE_REAPER=1
  exec "$py" -c '
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" % ctypes.get_errno())
child = os.fork()
if child == 0:
    os.execv("/bin/bash", ["bash"] + sys.argv[1:])
while True:
    pid, status = os.wait()
    if pid == child:
        sys.exit(os.waitstatus_to_exitcode(status))
' "$0" "$@"
fi

exec >"$out/guest.log" 2>&1
step() { echo "[$(date +%T)] $*"; }

# What the lane promises: cgroup2 alone at /sys/fs/cgroup, no v1 hierarchy.
{
  echo "kernel: $(uname -r)"
  echo "cgroup2 at /sys/fs/cgroup: $(stat -fc %T /sys/fs/cgroup)"
  echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
  echo "v1 hierarchies: $(grep -c ' - cgroup ' /proc/self/mountinfo)"
} >"$out/kernel"
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || grep -q ' - cgroup ' /proc/self/mountinfo; then
  echo "not a pure cgroup v2 guest:"; cat "$out/kernel"; grep cgroup /proc/self/mountinfo
  exit 1
fi

step "tmpfs on /tmp; modules; loopback"
mount -t tmpfs -o mode=1777,size=1200m lane-tmp /tmp || exit 1
# The kernel loads most modules itself on first use (modprobe is the host's,
# the modules are the kernel package's); these are named by the lane (loop:
# the device tests attach loop devices).
for m in overlay veth bridge loop; do modprobe "$m" || echo "modprobe $m failed (built in?)"; done
ip link set lo up

# A systemd host keeps memory cgroups of its own from boot (init.scope,
# system.slice), so the kernel switches its memcg paths on once, at boot:
# static branches patched into kmem_cache_alloc (memcg_kmem_enabled, never
# switched off) and the socket paths (memcg_sockets_enabled, on while any
# memory cgroup exists). virtme-ng's init makes none, so here the first
# container flipped them while the tests ran side by side, and glassbox's
# parent group, removed whenever it empties, flipped the socket one on and
# off all along. Under emulation that once hung the guest: both CPUs in
# soft lockup at kmem_cache_alloc's memcg branch from the first container's
# start to the lane's timeout. One group of the guest's own, made now and
# kept, is what systemd does.
step "a memory cgroup of the guest's own, kept (lane.slice), as systemd's"
echo "+memory +cpu +pids" >/sys/fs/cgroup/cgroup.subtree_control || exit 1
mkdir -p /sys/fs/cgroup/lane.slice || exit 1

# 9p without a cache reads an executable again at each exec: glassbox, started
# a few hundred times, runs from a tmpfs copy bind-mounted over its own path
# (the tests start it by the path cargo compiled in).
GLASSBOX= CENSUS=
. "$out/env"
glassbox=$GLASSBOX
mkdir -p /tmp/.lane-bin
cp "$glassbox" /tmp/.lane-bin/ && mount --bind /tmp/.lane-bin/glassbox "$glassbox" || exit 1

cd "$repo" || exit 1
export CI=true TMPDIR=/tmp GLASSBOX_REQUIRE_PURE_V2=1
threads=${LANE_TEST_THREADS:-2}

run_queue() {
  local queue=$1 name bin q args t0 rc
  while read -r name bin q args; do
    [ "$q" = "$queue" ] || continue
    step "$name: start"
    t0=$(date +%s)
    # shellcheck disable=SC2086 # args: "--exact --skip A --skip B", split on purpose
    "$bin" --test-threads="$threads" $args >"$out/$name.out" 2>&1
    rc=$?
    echo "$rc $(( $(date +%s) - t0 ))" >"$out/$name.rc"
    step "$name: exit $rc after $(( $(date +%s) - t0 )) s"
  done <"$out/plan"
}

for q in $(awk '{print $3}' "$out/plan" | sort -u); do run_queue "$q" & done
wait

# Nothing may be left in the guest's kernel with glassbox's name either (the
# lane's own bind mount of the binary goes first: its path has the name too).
umount "$glassbox"
if [ -n "$CENSUS" ]; then
  "$CENSUS" >"$out/census" 2>&1 || true
fi
dmesg >"$out/dmesg" 2>&1
step "done"
touch "$out/done"
