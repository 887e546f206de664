#!/usr/bin/env bash
# The C library's start-up, measured: an empty glibc `main` (static,
# static-pie, dynamic) against three instructions that exit, beside busybox,
# /bin/true and `glassbox --version`. On a VM whose `cpuid` traps to the
# hypervisor, glibc's start-up is a fixed cost of every glassbox start (its
# CLI) and of every container's busybox, whichever runtime starts it; see
# libc_start.py and README's "The C library's start-up".
#
#   benches/libc_start.sh [RUNS]        (default 400 starts of each)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 benches/libc_start.py "${1:-400}" "$PWD/target/release/glassbox"
