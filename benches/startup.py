"""Times container start-up: glassbox vs crun vs runc vs the kernel's floor,
alternating. See startup.sh.

Every command is started with posix_spawn and reaped with wait4, which gives
its CPU time (user + system, its own and that of every descendant it reaped).
This process is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever a
command leaves running after it exits (glassbox's `--rm` teardown, a
background `rm`) becomes our child, is waited for, and its CPU time is added
to the command's. So `cpu` is everything a start cost, and `done` is when the
last process it left behind exited, beside `wall`, when its exit status came.
"""
import ctypes, json, os, random, shutil, statistics, subprocess, sys, tempfile, time

import pagecache

glassbox, runs = sys.argv[1], int(sys.argv[2])
baseline = os.environ.get("GLASSBOX_BASELINE")  # another glassbox binary, for before/after
root = tempfile.mkdtemp(prefix="glassbox-bench-")
gb = [glassbox, "--root", root]
# crun's and runc's cgroups: under a name of the bench's own (not glassbox's),
# removed at the end in every hierarchy they made it in.
cg_top = f"startup-bench-{os.getpid()}"
oci_ids = []

PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")


def sh(args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def cgroup_mounts():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                yield fields[4]


def remove_bench_cgroups():
    """rmdir, deepest first, of cg_top in every cgroup hierarchy; says what stayed."""
    left = []
    for mnt in cgroup_mounts():
        top = os.path.join(mnt, cg_top)
        if not os.path.isdir(top):
            continue
        for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(d)
            except OSError as e:
                left.append(f"{d}: {e}")
    return left


def reap_orphans():
    """Waits for every process left to us (we are their subreaper); their CPU seconds."""
    cpu = 0.0
    while True:
        try:
            _, _, ru = os.wait4(-1, 0)
        except ChildProcessError:
            return cpu
        cpu += ru.ru_utime + ru.ru_stime


def timed(argv, err):
    """Runs argv: (wall ms to its exit status, ms until all it left behind exited, CPU ms)."""
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_DUP2, err, 2)]
    t = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - t) / 1e6
    cpu = ru.ru_utime + ru.ru_stime + reap_orphans()
    done = (time.perf_counter_ns() - t) / 1e6
    return os.waitstatus_to_exitcode(status), wall, done, cpu * 1e3


try:
    sh(gb + ["run", "--rm", "--network", "none", "busybox", "true"])  # assembles busybox
    # The bundle for crun and runc: glassbox's own config.json for the same command.
    sh(gb + ["run", "-d", "--name", "src", "--network", "none", "busybox", "sleep", "60"])
    doc = json.loads(sh(gb + ["inspect", "src"]).stdout)[0]
    bundle_src = doc["Glassbox"]["Bundle"]
    config = json.load(open(os.path.join(bundle_src, "config.json")))
    lower = doc["GraphDriver"]["Data"]["LowerDir"].split(":")[-1]  # the image layer (the first is the init layer)
    bundle = os.path.join(root, "bundle")
    os.makedirs(bundle)
    # The files glassbox bind-mounts (/etc/hosts, …) come along into the bundle.
    for m in config["mounts"]:
        if m["type"] == "bind" and m["source"].startswith(bundle_src):
            copy = os.path.join(bundle, os.path.basename(m["source"]))
            shutil.copy(m["source"], copy)
            m["source"] = copy
    sh(gb + ["rm", "-f", "src"])
    shutil.copytree(lower, os.path.join(bundle, "rootfs"), symlinks=True)
    config["process"]["args"] = ["true"]
    config["root"] = {"path": "rootfs", "readonly": False}

    def oci(runtime):
        path = shutil.which(runtime)

        def go(i):
            config["linux"]["cgroupsPath"] = f"/{cg_top}/{runtime}-{i}"
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(config, f)
            cid = f"glassbox-bench-{os.getpid()}-{runtime}-{i}"
            oci_ids.append((path, cid))
            return [path, "run", "--bundle", bundle, cid]
        return go

    gb_run = ["run", "--rm", "--network", "none", "busybox", "true"]
    commands = {
        "glassbox": lambda i: gb + gb_run,
        "crun": oci("crun"),
        "runc": oci("runc"),
        # The kernel's floor: five new namespaces (mount, UTS, IPC, network,
        # PID), a fork into them and an execve of /bin/true.
        "floor": lambda i: [shutil.which("unshare"), "--mount", "--uts", "--ipc", "--net",
                            "--pid", "--fork", "/bin/true"],
        "process": lambda i: ["/bin/true"],
    }
    if baseline:
        commands["baseline"] = lambda i: [baseline, "--root", root] + gb_run
    available = [r for r in commands if r not in ("crun", "runc") or shutil.which(r)]
    # Each round runs every runtime once, in a fresh random order: what one
    # runtime leaves for the kernel to finish (runc's exit costs whoever comes
    # next some 4 ms here) falls on each of the others alike.
    rng = random.Random(1)
    err = tempfile.TemporaryFile()

    def phase(pause):
        times = {r: ([], [], []) for r in available}
        for i in range(runs):
            order = available[:]
            rng.shuffle(order)
            for r in order:
                argv = commands[r](i)  # writing config.json is not timed
                time.sleep(pause)
                err.seek(0)
                err.truncate()
                code, wall, done, cpu = timed(argv, err.fileno())
                if code != 0:
                    err.seek(0)
                    sys.exit(f"{r} failed ({code}): {err.read().decode().strip()}")
                for series, v in zip(times[r], (wall, done, cpu)):
                    series.append(v)
        return times

    # Every executable in one page-cache state (see pagecache.py), then one
    # untimed start of each.
    pagecache.settle(glassbox, baseline, root, *pagecache.which("crun", "runc", "unshare", "true"))
    for r in available:
        timed(commands[r]("warm"), err.fileno())
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    # Back to back, as in a script; and one at a time, as a person types: an
    # idle kernel makes the first cgroup move of a while wait for an RCU grace
    # period (see Cgroup::join_files), back-to-back runs share one.
    for title, pause in [("back to back", 0.0), ("one at a time, 100 ms apart", 0.1)]:
        times = phase(pause)
        print(f"{runs} runs each, {title}, random order per round; one start of /bin/true, in ms")
        print("  wall: until its exit status; done: until every process it left exited;"
              " cpu: user+system of all of them")
        print(f"{'runtime':10} {'wall':>7} {'p10':>7} {'p90':>7} {'done':>7} {'cpu':>7}")
        med, p10 = {}, {}
        for r in available:
            wall, done, cpu = (sorted(s) for s in times[r])
            med[r] = (statistics.median(wall), statistics.median(cpu))
            p10[r] = wall[len(wall) // 10]
            print(f"{r:10} {med[r][0]:7.2f} {wall[len(wall) // 10]:7.2f} {wall[len(wall) * 9 // 10]:7.2f}"
                  f" {statistics.median(done):7.2f} {med[r][1]:7.2f}")
        for r in available:
            if r not in ("glassbox", "process"):
                # The p10s' ratio beside the medians': crun's wall time is
                # bimodal here (a cgroup.procs write that waits for an RCU
                # grace period, or not), and its median falls in either mode.
                print(f"glassbox / {r:8}  wall {med['glassbox'][0] / med[r][0]:.2f}"
                      f"   cpu {med['glassbox'][1] / med[r][1]:.2f}"
                      f"   (p10s' wall {p10['glassbox'] / p10[r]:.2f})")
        print(f"load average after: {open('/proc/loadavg').read().strip()}")
        print()
finally:
    for path, cid in oci_ids[-4:]:  # a run that failed may have left its state
        subprocess.run([path, "delete", "-f", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reap_orphans()
    subprocess.run(gb + ["cleanup"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)
    for line in remove_bench_cgroups():
        print(f"left behind: {line}", file=sys.stderr)
