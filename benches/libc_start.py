"""What starting a program costs before its `main`, on this machine.

    python3 benches/libc_start.py [RUNS] [GLASSBOX]     (see libc_start.sh)

Every glibc program, static or dynamic, sizes the CPU's caches and reads its
features before `main` (`init_cpu_features`, `intel_check_word`): some
seventy `cpuid` instructions. On real hardware that is a few microseconds; in
a virtual machine each `cpuid` traps to the hypervisor, and the start-up
becomes a large share of a short program's life. glassbox's CLI pays it, and
so does busybox in every container, glassbox's, crun's and runc's alike.

The programs timed, each started with posix_spawn and waited for, in a new
random order every round:

- `asm exit`: three instructions, `exit(0)`, no C library: the kernel's own
  cost of a spawn, an `execve` and an exit;
- `glibc static` and `glibc static-pie`: an empty `main`, linked statically
  (glassbox's executables are static-pie, `.cargo/link-static`);
- `glibc dynamic`: the same, with the dynamic loader and libc.so;
- `busybox true`, `/bin/true`, and `glassbox --version` when given.

The difference between `asm exit` and `glibc static` is the C library's
start-up alone.
"""
import os, random, shutil, statistics, subprocess, sys, tempfile, time

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 400
glassbox = sys.argv[2] if len(sys.argv) > 2 else None

work = tempfile.mkdtemp(prefix="glassbox-libc-start-")
try:
    with open(os.path.join(work, "exit.S"), "w") as f:
        f.write(".globl _start\n_start:\n  mov $60, %eax\n  xor %edi, %edi\n  syscall\n")
    with open(os.path.join(work, "empty.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    builds = {
        "asm exit": ["-nostdlib", "-static", "exit.S"],
        "glibc static": ["-O2", "-static", "empty.c"],
        "glibc static-pie": ["-O2", "-static-pie", "empty.c"],
        "glibc dynamic": ["-O2", "empty.c"],
    }
    programs = {}
    for name, flags in builds.items():
        out = os.path.join(work, name.replace(" ", "-"))
        subprocess.run(["gcc", *flags, "-o", out], cwd=work, check=True)
        programs[name] = [out]
    if busybox := shutil.which("busybox"):
        programs["busybox true"] = [busybox, "true"]
    programs["/bin/true"] = ["/bin/true"]
    if glassbox:
        programs["glassbox --version"] = [glassbox, "--version"]

    null = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]

    def timed(argv):
        t = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=null)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(argv)} failed: {status}")
        return (time.perf_counter_ns() - t) / 1e6

    for argv in programs.values():  # one untimed start each: pages cached
        timed(argv)
    times = {name: [] for name in programs}
    rng = random.Random(1)
    for _ in range(runs):
        order = list(programs)
        rng.shuffle(order)
        for name in order:
            times[name].append(timed(programs[name]))

    floor = statistics.median(times["asm exit"])
    print(f"{runs} starts each, random order per round; spawn to exit status, in ms")
    print(f"{'program':22} {'median':>7} {'p10':>7} {'p90':>7} {'- asm exit':>11}")
    for name, series in times.items():
        s = sorted(series)
        med = statistics.median(s)
        print(f"{name:22} {med:7.3f} {s[len(s) // 10]:7.3f} {s[len(s) * 9 // 10]:7.3f} {med - floor:11.3f}")
finally:
    shutil.rmtree(work, ignore_errors=True)
