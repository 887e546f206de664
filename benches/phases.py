"""Median of each traced start-up step over N runs. See phases.sh."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

import pagecache

glassbox, runs = sys.argv[1], int(sys.argv[2])
root = tempfile.mkdtemp(prefix="glassbox-phases-")
trace = os.path.join(root, "trace.jsonl")
gb = [glassbox, "--root", root]
run = ["run", "--rm", "--network", "none", "busybox", "true"]
floor = [shutil.which("unshare"), "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "/bin/true"]


def wall_ms(argv, env=None):
    t = time.perf_counter_ns()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return (time.perf_counter_ns() - t) / 1e6


def root_mounted():
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4].startswith(root + "/") for line in f)


def trash_empty():
    try:
        return not os.listdir(os.path.join(root, "trash"))
    except FileNotFoundError:
        return True


try:
    subprocess.run(gb + run, check=True)  # assembles busybox, untimed
    # The executables in one page-cache state (see pagecache.py), then one
    # untimed start of each.
    pagecache.settle(glassbox, root, *pagecache.which("unshare", "true"))
    subprocess.run(gb + run, check=True)
    subprocess.run(floor, check=True)
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    walls, floors, gone = [], [], []
    for i in range(runs):
        # Alternating, so both see the same machine.
        floors.append(wall_ms(floor))
        t = time.perf_counter_ns()
        walls.append(wall_ms(gb + ["--trace", trace] + run))
        # The run's trace is appended by the child that removes its overlay
        # and files after it exits; wait for it. How long after the exit
        # status nothing of the container is left (no mount under the data
        # root, trash/ empty), polled every 0.5 ms.
        deadline = time.monotonic() + 5
        while (not trash_empty() or root_mounted()) and time.monotonic() < deadline:
            time.sleep(0.0005)
        gone.append((time.perf_counter_ns() - t) / 1e6 - walls[-1])
    time.sleep(0.05)
    events = [json.loads(line) for line in open(trace)]
    # One run's events: from its first step (`open_data_root`; `seal` where
    # the CLI re-executes itself, which `run` does only with --init) to the
    # next run's.
    first = "seal" if any(e["step"] == "seal" for e in events) else "open_data_root"
    per_run = []
    for e in events:
        if e["step"] == first:
            per_run.append([])
        per_run[-1].append(e)
    steps = {}  # (actor, step) -> ([offsets], [durations summed per run])
    spans = []
    for evs in per_run:
        t0 = evs[0]["start_ns"]
        mine = {}
        for e in evs:
            key = (e["actor"], e["step"])
            off, dur = mine.get(key, (e["start_ns"] - t0, 0))
            mine[key] = (off, dur + e["dur_ns"])
        for key, (off, dur) in mine.items():
            o, d = steps.setdefault(key, ([], []))
            o.append(off / 1e6)
            d.append(dur / 1e6)
        spans.append(max(e["start_ns"] + e["dur_ns"] for e in evs if e["actor"] != "reaper") - t0)
    med = statistics.median
    print(f"{len(per_run)} traced runs of `glassbox run --rm --network none busybox true`; medians in ms")
    print(f"{'at':>7} {'takes':>7}  {'actor':8} {'step':24} (n)")
    for (actor, step), (o, d) in sorted(steps.items(), key=lambda kv: med(kv[1][0])):
        n = f"({len(d)})" if len(d) != len(per_run) else ""
        print(f"{med(o):7.2f} {med(d):7.2f}  {actor:8} {step:24} {n}")
    print()
    w, s, f = med(walls), med(spans) / 1e6, med(floors)
    print(f"wall (spawn to exit status)      {w:7.2f}")
    print(f"traced (first to last step)      {s:7.2f}")
    print(f"outside the trace (exec, exit)   {w - s:7.2f}")
    print(f"--rm leaves nothing, after exit  {med(gone):7.2f}  (reaper: overlay unmounted, trash/ empty;"
          f" p90 {sorted(gone)[len(gone) * 9 // 10]:.2f})")
    print(f"kernel floor (unshare -muinpf --fork /bin/true, same way) {f:7.2f}")
    print(f"glassbox / floor                 {w / f:7.2f}")
    print(f"load average after: {open('/proc/loadavg').read().strip()}")
finally:
    subprocess.run(gb + ["cleanup"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)
