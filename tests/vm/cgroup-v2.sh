#!/usr/bin/env bash
# The pure cgroup v2 lane: the root tests that touch cgroups, run on a kernel
# that mounts cgroup2 alone at /sys/fs/cgroup, as Ubuntu 22.04+, Debian 12 and
# Fedora do. The machines glassbox is developed and tested on run a hybrid
# layout (memory, cpu and pids on v1), where the v2 code would otherwise run
# only against fixture trees.
#
# How: a Debian generic kernel (the -cloud flavour has no 9p) boots under
# qemu's software emulation (KVM fails on these machines) through virtme-ng,
# which shares the host's root file system read-only with the guest over 9p
# and runs one command there: tests/vm/guest.sh, which runs the test binaries
# built here and writes each one's output and exit code into a directory
# shared read-write (target/vm/run). This script reads them back, prints one
# line per test binary and a summary, the failing binaries' output, and exits
# 0 only if every test passed and the guest's leak census is empty.
#
# Run as root: sudo tests/vm/cgroup-v2.sh. It installs what it lacks: qemu,
# kmod (modprobe for the guest), virtme-ng (PyPI, in a venv under target/vm),
# and the kernel package, unpacked under target/vm/kernels (not installed on
# the host). Everything it keeps between runs lives under target/vm.
#
# Environment:
#   KERNEL=ABI          a Debian kernel package's ABI, e.g. 6.1.0-47-amd64
#                       (default: the one linux-image-amd64 depends on), or
#                       the path of a vmlinuz whose modules are in /lib/modules
#   KERNEL_SUITE=NAME   take KERNEL from another Debian suite (e.g. trixie),
#                       through an apt index of its own under target/vm/apt
#   LANE_TESTS="a b"    the test targets to run (default: LANE_TESTS below)
#   LANE_SKIP="b:t …"   tests of those to leave out (default: LANE_SKIP below;
#                       LANE_SKIP= runs every test of each target)
#   VM_NICE=N           run qemu under nice -n N (while others share the cores)
#   VM_TIMEOUT=S        give the guest S seconds in all (default 900)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
vm=$target/vm
out=$vm/run
t_start=$(date +%s)

# The root tests that touch the v2 code: run, exec, stop, ps, top, logs
# (engine_run, engine_lifecycle), limits written and read back through
# /proc/PID/cgroup (engine_isolation), OOM, pids, stats (engine_limits), the
# container's cgroup namespace and clone3 (engine_cgroup_v2_live,
# clone_into_cgroup, cgroup_v2_lane), network: bridge, NAT, published ports
# reached (network_bridge, network_publish, network_cleanup), the exercise
# checks that read the cgroup (exercises_fixed), cleanup after a failed start
# (engine_faults), the device program (security_devices), exec's joining
# process (security_exec) and the freezer for pause and commit
# (security_copy), and the fault tests whose undo touches the cgroup: a dead
# monitor's exit status and released cgroup (faults_monitor), journal lines
# naming a cgroup outside glassbox/<key> refused (faults_journal), a cgroup
# undone only by its owner after a reboot (faults_owner). A target whose tests/NAME.rs is not in this tree is named
# in the summary, not run.
LANE_TESTS=${LANE_TESTS:-"cgroup_v2_lane engine_cgroup_v2_live clone_into_cgroup engine_run \
engine_isolation engine_limits engine_lifecycle engine_faults network_bridge network_publish \
network_cleanup exercises_fixed security_devices security_exec security_copy faults_monitor \
faults_journal faults_owner"}
# Tests of those binaries that the guest leaves out (BINARY:TEST, exact
# names): nothing of the cgroup in them, and each costs the emulated CPU
# seconds to minutes. The main suite runs them all on the host.
LANE_SKIP=${LANE_SKIP-"engine_faults:without_root_it_says_to_use_sudo \
engine_faults:busybox_is_assembled_from_host_tools_when_there_is_no_busybox \
engine_isolation:root_is_an_overlay_of_the_image_layers \
engine_isolation:security_defaults_of_trusted_runtimes \
engine_isolation:a_seccomp_filter_refuses_what_no_namespace_isolates \
engine_isolation:user_hostname_env_and_workdir \
engine_lifecycle:logs_keep_stdout_and_stderr \
engine_lifecycle:logs_follow_waits_for_a_container_that_has_not_spoken_yet \
engine_lifecycle:names_are_unique_and_rm_refuses_running_containers \
engine_lifecycle:a_record_whose_process_is_gone_reads_as_exited \
network_bridge:twenty_parallel_starts_get_twenty_addresses \
network_bridge:without_iptables_only_port_publishing_is_refused \
network_bridge:a_subnet_that_overlaps_a_host_route_is_refused \
network_publish:a_udp_datagram_to_a_published_udp_port_passes_its_dnat_rule \
network_publish:a_client_outside_the_host_reaches_the_published_port \
network_publish:p_without_a_host_port_gets_a_free_one \
network_cleanup:two_undos_of_one_rule_at_once_both_succeed \
exercises_fixed:topic12_nobody_fails_as_root_and_passes_as_uid_1000"}

say() { echo "cgroup-v2 lane: $*"; }
die() { say "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (sudo $0): the tests start real containers in the guest"
case "$vm/" in
  /tmp/*) die "the target directory $target is under /tmp, which the guest covers with a tmpfs: set CARGO_TARGET_DIR elsewhere" ;;
esac
mkdir -p "$vm"

# --- what the lane needs on the host -------------------------------------
apt_updated=
apt_install() {
  command -v apt-get >/dev/null || die "missing $*, and no apt-get to install it: install $* yourself"
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v modprobe >/dev/null || need+=(kmod)          # the guest loads modules with the host's modprobe
command -v depmod >/dev/null || need+=(kmod)
command -v file >/dev/null || need+=(file)             # virtme-ng reads the kernel's version with it
command -v busybox >/dev/null || need+=(busybox-static)
command -v iptables >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  apt_install "${need[@]}"
fi

VNG_VERSION=1.42
venv=$vm/venv
if [ ! -x "$venv/bin/vng" ] || [ "$("$venv/bin/pip" show virtme-ng 2>/dev/null | awk '/^Version:/{print $2}')" != "$VNG_VERSION" ]; then
  say "installing virtme-ng $VNG_VERSION into $venv"
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q "virtme-ng==$VNG_VERSION"
fi
export PATH="$venv/bin:$PATH"   # vng runs virtme-run by name

# --- the kernel -----------------------------------------------------------
# A Debian kernel package, unpacked: boot/vmlinuz-ABI and lib/modules/ABI side
# by side, which is where virtme-ng looks for the modules of a kernel it boots.
apt_opts=()
if [ -n "${KERNEL_SUITE:-}" ]; then
  a=$vm/apt/$KERNEL_SUITE
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
  echo "deb http://deb.debian.org/debian $KERNEL_SUITE main" >"$a/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$a/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
            -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  if [ -z "$(find "$a/lists" -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    say "reading the $KERNEL_SUITE package index"
    apt-get "${apt_opts[@]}" update -qq
  fi
fi
kernel_abi() {
  apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {sub("linux-image-", "", $2); print $2; exit}'
}
if [ -n "${KERNEL:-}" ] && [ -f "$KERNEL" ]; then
  kimg=$KERNEL
else
  abi=${KERNEL:-$(kernel_abi)}
  if [ -z "$abi" ] && [ -z "$apt_updated" ] && [ -z "${KERNEL_SUITE:-}" ]; then
    apt-get update -qq; apt_updated=1; abi=$(kernel_abi)
  fi
  [ -n "$abi" ] || die "cannot tell which kernel linux-image-amd64 is: set KERNEL=ABI (e.g. 6.1.0-47-amd64)"
  case "$abi" in *cloud*) die "KERNEL=$abi: the cloud flavour has no 9p, which the guest's root file system needs; pick a generic one (…-amd64)" ;; esac
  kdir=$vm/kernels/$abi
  kimg=$kdir/boot/vmlinuz-$abi
  # Packages from trixie on (merged /usr) keep the modules in usr/lib/modules,
  # where virtme-ng looks too.
  if [ ! -f "$kimg" ] || { [ ! -d "$kdir/lib/modules/$abi" ] && [ ! -d "$kdir/usr/lib/modules/$abi" ]; }; then
    say "fetching linux-image-$abi"
    rm -rf "$kdir" "$kdir.new"
    mkdir -p "$kdir.new"
    (cd "$kdir.new" && apt-get "${apt_opts[@]}" download -q "linux-image-$abi" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    deb=$(ls "$kdir.new"/linux-image-"$abi"_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || die "no package linux-image-$abi in $( [ -n "${KERNEL_SUITE:-}" ] && echo "Debian $KERNEL_SUITE" || echo "this machine's apt sources"): see apt-cache search linux-image-"
    dpkg-deb -x "$deb" "$kdir.new"
    rm -f "$deb"
    mv "$kdir.new" "$kdir"
  fi
fi
[ -r "$kimg" ] || die "no kernel image at $kimg"

# --- the tests, built here -------------------------------------------------
tests=(); absent=()
for t in $LANE_TESTS; do
  if [ -f "$repo/tests/$t.rs" ]; then tests+=("$t"); else absent+=("$t"); fi
done
[ ${#tests[@]} -gt 0 ] || die "none of LANE_TESTS ($LANE_TESTS) is in tests/"
cargo_args=(--release --no-run --message-format=json)
[ -f "$repo/Cargo.lock" ] && cargo_args+=(--locked)
for t in "${tests[@]}"; do cargo_args+=(--test "$t"); done
say "building ${#tests[@]} test binaries"
rm -rf "$out"; mkdir -p "$out"
(cd "$repo" && cargo test "${cargo_args[@]}" 2>"$vm/build.log") |
  LANE_SKIP="$LANE_SKIP" python3 -c '
import json, os, sys
skips = {}
for pair in os.environ["LANE_SKIP"].split():
    binary, _, test = pair.partition(":")
    skips.setdefault(binary, []).append(test)
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        name = m["target"]["name"]
        # Binaries that publish fixed host ports run one after another.
        queue = "ports" if name.startswith(("network_", "exercises_")) else "plain"
        args = " ".join("--skip " + t for t in skips.get(name, []))
        print(name, m["executable"], queue, "--exact" if args else "", args)
' >"$out/plan" || { tail -20 "$vm/build.log"; die "cargo test --no-run failed (log: $vm/build.log)"; }
[ "$(wc -l <"$out/plan")" = ${#tests[@]} ] || { cat "$out/plan"; die "expected ${#tests[@]} test binaries from cargo, got the ones above"; }
# The security tests' static probe (tests/common/mod.rs, `probe`) is compiled
# on first use into target/tmp, which the guest sees read-only: compile it
# here, as the test would, unless it is newer than its source.
probe_src=$repo/tests/fixtures/security/probe.c probe=$target/tmp/glassbox-probe
if [ -f "$probe_src" ] && ! [ "$probe" -nt "$probe_src" ]; then
  mkdir -p "$target/tmp"
  cc -static -O2 -o "$probe.lane" "$probe_src" || die "cc -static $probe_src failed (install gcc and libc6-dev)"
  mv "$probe.lane" "$probe"
fi

# --- the guest ------------------------------------------------------------
# The census sits beside the checkout (…/shared/tools), one level further up
# for a worktree under wt/.
census=${LEAK_CENSUS:-}
if [ -z "$census" ]; then
  for c in "$repo/../shared/tools/leak-census" "$repo/../../shared/tools/leak-census"; do
    if [ -x "$c" ]; then census=$(cd "$(dirname "$c")" && pwd)/leak-census; break; fi
  done
fi
[ -z "$census" ] || [ -x "$census" ] || die "LEAK_CENSUS=$census is not an executable"
{
  echo "GLASSBOX=$target/release/glassbox"
  echo "CENSUS=$census"
} >"$out/env"
say "booting $(basename "$kimg") under qemu (TCG, 2 CPUs, 2 GiB), ${#tests[@]} test binaries"
t_boot=$(date +%s)
# --verbose: the kernel's messages reach the console (vm/console.log), which the
# summary shows when the guest ends early (a panic, a hang).
rc=0
TIMEFORMAT='%R %U %S'
{ time timeout --kill-after=10 "${VM_TIMEOUT:-900}" nice -n "${VM_NICE:-0}" \
  vng --run "$kimg" --disable-kvm --verbose --cpus 2 --memory 2G --rwdir "$out" \
      --exec "$repo/tests/vm/guest.sh $out $venv/bin/python3" </dev/null >"$vm/console.log" 2>&1 || rc=$?; } 2>"$vm/time"
read -r _ cpu_user cpu_sys <"$vm/time" || true
t_end=$(date +%s)

# --- what the guest wrote ---------------------------------------------------
passed=0; failed=0; bad=()
while read -r name _ _; do
  # A binary the guest's time limit cut off has no result line: no match is
  # no count, not the end of this script (pipefail, set -e).
  counts=$({ grep -h '^test result:' "$out/$name.out" 2>/dev/null || true; } |
    awk '{p += $4; f += $6} END {print p+0, f+0}')
  read -r p f <<<"${counts:-0 0}"
  passed=$((passed + p)); failed=$((failed + f))
  if [ -f "$out/$name.rc" ]; then
    read -r code secs <"$out/$name.rc"
  else
    code="not run"; secs=0
  fi
  printf '  %-24s %3d passed %2d failed  %4ss  %s\n' "$name" "$p" "$f" "$secs" "$( [ "$code" = 0 ] && echo ok || echo "FAILED (exit $code)")"
  if [ "$code" != 0 ] || [ "$p" = 0 ]; then bad+=("$name"); fi
done <"$out/plan"

problems=()
[ -f "$out/done" ] || problems+=("the guest did not finish (vng exit $rc after $((t_end - t_boot)) s)")
[ ${#bad[@]} -eq 0 ] || problems+=("failed: ${bad[*]}")
if [ -s "$out/census" ]; then problems+=("the guest's leak census is not empty"); fi
[ -n "$census" ] || say "no leak census in $repo/../shared/tools or $repo/../../shared/tools (LEAK_CENSUS=PATH names one): the guest's leftovers were not counted"

for name in "${bad[@]}"; do
  echo "----- $name (in the guest) -----"
  cat "$out/$name.out" 2>/dev/null || echo "(no output)"
done
[ ${#bad[@]} -eq 0 ] || say "the guest's kernel log: $out/dmesg; its steps: $out/guest.log"
if [ -s "$out/census" ]; then echo "----- leak census in the guest -----"; cat "$out/census"; fi
if [ ! -f "$out/done" ]; then
  echo "----- guest log -----"; tail -30 "$out/guest.log" 2>/dev/null || true
  echo "----- console -----"; tail -30 "$vm/console.log"
fi

say "$(tr '\n' ';' <"$out/kernel" 2>/dev/null | sed 's/;$//; s/;/; /g')"
[ ${#absent[@]} -eq 0 ] || say "not in this tree, not run: ${absent[*]}"
[ -z "$LANE_SKIP" ] || say "left out in the guest (LANE_SKIP; the host's suite runs them): $(echo $LANE_SKIP | wc -w) tests"
say "boot and tests $((t_end - t_boot)) s (qemu used ${cpu_user:-?} s user + ${cpu_sys:-?} s system CPU), whole lane $((t_end - t_start)) s"
if [ ${#problems[@]} -gt 0 ]; then
  say "$(IFS='; '; echo "${problems[*]}")"
  echo "cgroup-v2: $passed passed, $failed failed"
  exit 1
fi
echo "cgroup-v2: $passed passed, 0 failed"
