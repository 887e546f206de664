#!/usr/bin/env bash
# Where a start's time goes: `glassbox run --rm --network none busybox true`
# N times with `--trace FILE`, then the median of each traced step over the N
# runs, in the order the steps happen, beside the kernel's floor measured the
# same way (`unshare` of the same five namespaces, fork, execve of /bin/true).
#
#   sudo benches/phases.sh [N]        (default 50)
#
# `wall` is what the caller waits for (spawn to exit status, timed here);
# `traced` is the span from the first traced step (`open_data_root`) to the
# last one before the exit status; the difference is the process start-up
# (exec, dynamic loader, the command line's parse) and the exit after it.
# The init's last step, `exec_trampoline`, runs from the execveat of the
# sealed trampoline to the program's execve (runtime/trampoline.rs).
# Steps of actor `reaper` run after the CLI has exited (a `--rm` container's
# overlay and files), steps of actor `init` inside the container before
# execve, within the runtime's `wait_for_exec`. The last line says how long
# after the exit status nothing of the container is left (its overlay
# unmounted, trash/ empty): the reaper's time, which no caller waits for.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 benches/phases.py "$PWD/target/release/glassbox" "${1:-50}"
