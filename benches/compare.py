"""Two (or more) glassbox binaries, started alternately in a random order per
round: medians of wall time (spawn to exit status) and CPU time (user + system
of the start and of every process it left behind, reaped as a child
subreaper). Nothing else runs between them, so a before/after difference is
not buried under crun's and runc's noise (compare startup.sh).

    sudo python3 benches/compare.py RUNS NAME=BINARY [NAME=BINARY ...]

Each binary runs `--root <a temporary data root> run --rm --network none busybox true`.
"""
import ctypes, os, random, shutil, statistics, subprocess, sys, tempfile, time

import pagecache

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
runs = int(sys.argv[1])
binaries = [a.split("=", 1) for a in sys.argv[2:]]
root = tempfile.mkdtemp(prefix="glassbox-compare-")


def reap():
    cpu = 0.0
    while True:
        try:
            _, _, ru = os.wait4(-1, 0)
        except ChildProcessError:
            return cpu
        cpu += ru.ru_utime + ru.ru_stime


try:
    argv = lambda b: [b, "--root", root, "run", "--rm", "--network", "none", "busybox", "true"]
    subprocess.run(argv(binaries[0][1]), check=True, stdout=subprocess.DEVNULL)  # assembles busybox
    # Each binary in the same page-cache state (see pagecache.py): a copy
    # just made would start faster than a binary the linker just wrote.
    pagecache.settle(root, *(b for _, b in binaries))
    for _, binary in binaries:
        subprocess.run(argv(binary), check=True, stdout=subprocess.DEVNULL)
    reap()
    times = {name: ([], []) for name, _ in binaries}
    devnull = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]
    for _ in range(runs):
        for name, binary in random.sample(binaries, len(binaries)):
            t = time.perf_counter_ns()
            pid = os.posix_spawn(binary, argv(binary), os.environ, file_actions=devnull)
            _, status, ru = os.wait4(pid, 0)
            wall = (time.perf_counter_ns() - t) / 1e6
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"{name} failed")
            times[name][0].append(wall)
            times[name][1].append((ru.ru_utime + ru.ru_stime + reap()) * 1e3)
    print(f"{runs} runs each, alternating; medians in ms")
    for name, (wall, cpu) in times.items():
        print(f"{name:12} wall {statistics.median(wall):6.2f}   cpu {statistics.median(cpu):6.2f}")
finally:
    subprocess.run([binaries[0][1], "--root", root, "cleanup"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)
