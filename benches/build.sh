#!/usr/bin/env bash
# Build-cache and layer-sharing benchmark.
#
#   sudo benches/build.sh [CONTAINERS]      (default 100 containers)
#
# 1. assets/lesson17 (an app with a slow dependency step: one second per
#    dependency, standing for a download) built cold, then rebuilt after a
#    change to the app's code only, in the bad order (COPY of the code before
#    the install) and the good order (dependency list, install, then code).
#    Goal: the good-order rebuild takes under 10% of the cold build.
# 2. The disk that N detached containers of one image add to the data root:
#    `du` of the data root before and after starting them (not crossing the
#    overlay mounts, so each container counts only its own directories).
#    `trash/` is left out: a removed (`--rm`) container's directory is moved
#    there and deleted by a background process, so its files vanish while du
#    walks them ("cannot access …/trash/…") and are not the image's or the
#    running containers' disk anyway. The script also waits for the trash to
#    empty first, so the space it frees is not still in use when measured.
# Each part uses its own temporary data root, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/glassbox
work=$(mktemp -d /tmp/glassbox-bench-build.XXXXXX)
trap 'for r in "$work"/root-*; do [ -d "$r" ] && "$bin" --root "$r" cleanup >/dev/null 2>&1; done; rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== build cache: cold build vs rebuild after an app change (assets/lesson17)"
printf '%-6s %10s %10s %8s %s\n' order cold_s rebuild_s ratio "steps rebuilt"
for order in bad good; do
  root=$work/root-$order
  ctx=$work/ctx-$order
  cp -a assets/lesson17 "$ctx"
  "$bin" --root "$root" run --rm busybox true   # assemble the base image first
  t0=$(now)
  "$bin" --root "$root" build -t "app:$order" -f "$ctx/Dockerfile.$order" "$ctx" >"$work/cold-$order.log"
  t1=$(now)
  echo "echo 'changed at $(date +%s%N)'" >>"$ctx/app/server.sh"
  t2=$(now)
  "$bin" --root "$root" build -t "app:$order" -f "$ctx/Dockerfile.$order" "$ctx" >"$work/rebuild-$order.log"
  t3=$(now)
  cold=$(secs "$t0" "$t1")
  rebuild=$(secs "$t2" "$t3")
  total=$(grep -c '^Step ' "$work/rebuild-$order.log")
  cached=$(grep -c -- '---> Using cache' "$work/rebuild-$order.log" || true)
  ratio=$(awk -v a="$rebuild" -v b="$cold" 'BEGIN { printf "%.1f%%", 100 * a / b }')
  printf '%-6s %10s %10s %8s %s\n' "$order" "$cold" "$rebuild" "$ratio" "$((total - 1 - cached)) of $((total - 1)) (after FROM)"
done

# Bytes under a data root, not crossing mounts, without the trash.
disk() { du -sxb --exclude="$1/trash" "$1" | cut -f1; }
# Waits (up to 30 s) until the background deletions of --rm containers end.
wait_for_trash() {
  local i
  for i in $(seq 300); do
    [ -z "$(ls -A "$1/trash" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  echo "warning: $1/trash still not empty after 30 s" >&2
}

echo
echo "== disk: $n detached containers of one image"
root=$work/root-disk
"$bin" --root "$root" run --rm busybox true
wait_for_trash "$root"
image=$(du -sxb "$root/layers" | cut -f1)
before=$(disk "$root")
t0=$(now)
for i in $(seq 1 "$n"); do
  "$bin" --root "$root" run -d --name "c$i" busybox sleep 600 >/dev/null
done
t1=$(now)
after=$(disk "$root")
upper=$(du -scxb "$root"/containers/*/upper | tail -1 | cut -f1)
added=$((after - before))
echo "image layers (layer.tar + extracted diff): $image bytes"
echo "data root before: $before bytes; after $n containers: $after bytes"
echo "added: $added bytes = $((added / n)) bytes per container (their upper dirs hold $upper bytes in all)"
awk -v a="$added" -v n="$n" -v i="$image" 'BEGIN { printf "per container: %.2f%% of one copy of the image; %d copies would have added %d bytes\n", 100 * a / n / i, n, n * i }'
echo "started $n containers in $(secs "$t0" "$t1") s"
mapfile -t ids < <("$bin" --root "$root" ps -q)
"$bin" --root "$root" rm -f "${ids[@]}" >/dev/null
