"""Times container start-up: glassbox vs crun vs runc, alternating. See startup.sh."""
import json, os, random, shutil, statistics, subprocess, sys, tempfile, time

glassbox, runs = sys.argv[1], int(sys.argv[2])
root = tempfile.mkdtemp(prefix="glassbox-bench-")
gb = [glassbox, "--root", root]

def sh(args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

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
    key = doc["Glassbox"]["Cgroup"].split("/")[1]

    def oci(runtime):
        def go(i):
            config["linux"]["cgroupsPath"] = f"/glassbox/{key}/bench-{runtime}-{i}"
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(config, f)
            return [runtime, "run", "--bundle", bundle, f"glassbox-bench-{os.getpid()}-{i}"]
        return go

    commands = {
        "glassbox": lambda i: gb + ["run", "--rm", "--network", "none", "busybox", "true"],
        "crun": oci("crun"),
        "runc": oci("runc"),
    }
    available = [r for r in commands if r == "glassbox" or shutil.which(r)]
    # Each round runs every runtime once, in a fresh random order: what one
    # runtime leaves for the kernel to finish (runc's exit costs whoever comes
    # next some 4 ms here) falls on each of the others alike.
    rng = random.Random(1)

    trash = os.path.join(root, "trash")

    def trash_empty():
        try:
            return not os.listdir(trash)
        except FileNotFoundError:
            return True

    def phase(pause):
        times = {r: [] for r in available}
        times["glassbox+rm"] = []
        for i in range(runs):
            order = available[:]
            rng.shuffle(order)
            for r in order:
                argv = commands[r](i)  # writing config.json is not timed
                time.sleep(pause)
                t = time.perf_counter_ns()
                p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                dt = (time.perf_counter_ns() - t) / 1e6
                if p.returncode != 0:
                    sys.exit(f"{r} failed: {p.stderr.decode().strip()}")
                times[r].append(dt)
                if r == "glassbox":
                    # `--rm` returns once the container is gone from the
                    # kernel; its directory is deleted after, in the
                    # background. Wait for that, so that it does not slow the
                    # next runtime down, and report it as glassbox+rm.
                    while not trash_empty():
                        time.sleep(0.0002)
                    times["glassbox+rm"].append((time.perf_counter_ns() - t) / 1e6)
        return times

    # Back to back, as in a script; and one at a time, as a person types: an
    # idle kernel makes the first cgroup move of a while wait for an RCU grace
    # period (see Cgroup::join_files), back-to-back runs share one.
    for title, pause in [("back to back", 0.0), ("one at a time, 100 ms apart", 0.1)]:
        times = phase(pause)
        print(f"{runs} runs each, {title}, random order per round; wall time of one `run` of /bin/true, in ms")
        print(f"{'runtime':10} {'median':>8} {'p10':>8} {'p90':>8}")
        med = {}
        for r in ["glassbox", "glassbox+rm"] + available[1:]:
            t = sorted(times[r])
            med[r] = statistics.median(t)
            print(f"{r:10} {med[r]:8.2f} {t[len(t) // 10]:8.2f} {t[len(t) * 9 // 10]:8.2f}")
        for r in available:
            if r != "glassbox":
                print(f"glassbox / {r} = {med['glassbox'] / med[r]:.2f}"
                      f"   (glassbox+rm / {r} = {med['glassbox+rm'] / med[r]:.2f})")
        print()
finally:
    subprocess.run(gb + ["cleanup"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)
