#!/usr/bin/env bash
# What the lab costs while a student reads: for each topic given, open the lab
# there in a tmux terminal (120x40), run the step's demo (Enter), let it settle,
# then measure for SECONDS the lab process's CPU time (utime+stime from
# /proc/PID/stat) and how many samples it drew (the header's "live #N").
# Goal: under 3% of one core, at 4 samples a second.
#
#   sudo benches/lab_idle.sh [SECONDS] [TOPIC...]     (default 10 s; topics 1 4 20)
#
# It uses a private data root and removes it (and every kernel object) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
topics=("$@")
[ ${#topics[@]} -gt 0 ] || topics=(1 4 20)
command -v tmux >/dev/null || { echo "needs tmux (apt install tmux)"; exit 1; }
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/glassbox
root=$(mktemp -d /tmp/glassbox-bench-lab.XXXXXX)
session=glassbox-bench-lab-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true; "$bin" --root "$root" cleanup >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
ticks=$(getconf CLK_TCK)

live_count() { tmux capture-pane -p -t "$session" | head -1 | sed -n 's/.*live #\([0-9]*\).*/\1/p'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf '%-6s %10s %14s\n' topic "CPU %" "samples/s"
for topic in "${topics[@]}"; do
  tmux new-session -d -s "$session" -x 120 -y 40 "$bin --root $root lab $topic"
  sleep 2
  tmux send-keys -t "$session" Enter
  sleep 3
  pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
  c0=$(cpu_ticks "$pid"); s0=$(live_count); t0=$(date +%s.%N)
  sleep "$seconds"
  c1=$(cpu_ticks "$pid"); s1=$(live_count); t1=$(date +%s.%N)
  python3 -c "
c0,c1,s0,s1,t0,t1,hz=$c0,$c1,${s0:-0},${s1:-0},$t0,$t1,$ticks
wall=t1-t0
print(f'{$topic:<6} {100*(c1-c0)/hz/wall:10.2f} {(s1-s0)/wall:14.2f}')"
  tmux send-keys -t "$session" r
  sleep 2
  tmux send-keys -t "$session" q
  sleep 1
  tmux kill-session -t "$session" 2>/dev/null || true
done
