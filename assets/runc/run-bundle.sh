#!/bin/sh
# Topic 9: runc runs the bundle glassbox wrote for $CONTAINER.
# The lab's t runs this on the host (glassbox first on $PATH, $GLASSBOX_ROOT
# set). Three changes to the same config.json, in a copy: the rootfs by
# absolute path, a cgroup of runc's own (so glassbox's stays as it is), and a
# network namespace of runc's making (the path of the container's is
# dropped). Then the process's args, to print what the container's panel
# shows: its hostname, uid, cgroup and seccomp mode.
command -v runc >/dev/null || {
  echo 'runc is not installed here: apt-get install runc (Debian, Ubuntu) or dnf install runc (Fedora), then t again'
  exit 0
}
command -v jq >/dev/null || {
  echo 'jq (which copies and adapts the bundle) is not installed: apt-get install jq, then t again'
  exit 0
}
[ -n "$CONTAINER" ] || { echo 'no container yet: press Enter to run the step first'; exit 0; }
b=$(glassbox inspect -f '{{.Glassbox.Bundle}}' "$CONTAINER") || exit 1
d=$(mktemp -d /tmp/glassbox-lab-runc.XXXXXX) || exit 1
id="glassbox-lab-runc-$$"
jq --arg root "$b/rootfs" --arg cg "/$id" '
  .root.path = $root
  | .linux.cgroupsPath = $cg
  | .linux.namespaces |= map(del(.path))
  | .process.terminal = false
  | .process.args = ["sh", "-c", "hostname; id; cat /proc/self/cgroup; grep ^Seccomp: /proc/self/status"]
' "$b/config.json" >"$d/config.json" || { rm -rf "$d"; exit 1; }
echo "a copy of $CONTAINER's config.json: root.path its rootfs, cgroup /$id, a new netns"
echo "\$ runc run --bundle $d $id"
runc run --bundle "$d" "$id" </dev/null
rc=$?
rm -rf "$d"
echo "(runc exit $rc)"
