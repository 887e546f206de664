"""Puts the files a benchmark executes into one page-cache state.

How fast a program starts depends on how its file sits in the page cache,
not only on its code. Linux caches a file in folios of several sizes: a file
just written in one stream (`cp`, dpkg installing crun) is cached in large
folios, and each page fault of an `execve` maps a large piece of it; a file
the linker just wrote, or one read back by the faults of earlier runs, sits
in smaller ones, and the same start takes more faults. On the 2-core
development VM the very same glassbox binary started 0.8 ms faster (9.06 ->
8.23 ms, compare.py, 300 runs) from a fresh `cp` than from target/release/,
where the linker left it; after both were evicted, 8.99 and 8.86. A
before/after between a copied baseline and a just-built binary, or between
glassbox and a crun dpkg wrote, measured the page cache as much as the
runtimes.

So every bench settles, before it measures, every file it will execute:
glassbox's binaries, crun's and runc's, `unshare` and `true`, and the files of
each root filesystem (the image layer glassbox mounts, the copy in crun's
bundle). Each file's cached pages are dropped (`POSIX_FADV_DONTNEED`) and the
file is read again from start to end, as installing it or any first read of
the whole file leaves it: in the large folios of sequential readahead, the
state dpkg leaves crun in. Files mapped at that moment (the C library, which
this Python maps too) keep their pages, for every runtime alike.

Measured (compare.py, 300 runs; per `run --rm`, `perf stat -e page-faults`
over 20 runs): the binary read back by the faults of its own `execve` 8.52 ms,
490 faults; evicted and read whole 8.30 ms, 430 faults; a fresh `cp` 8.26 ms,
432 faults.
"""
import os
import shutil


def settle(*paths):
    """Drops the page cache of each file, and of every file below each
    directory, given, then reads each whole; missing paths are skipped.
    Returns how many files."""
    count = 0
    for path in paths:
        if not path or not os.path.exists(path):
            continue
        files = [path] if not os.path.isdir(path) else [
            os.path.join(d, f) for d, _, names in os.walk(path) for f in names]
        for f in files:
            if os.path.islink(f) or not os.path.isfile(f):
                continue
            try:
                fd = os.open(f, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                while os.read(fd, 1 << 20):
                    pass
                count += 1
            finally:
                os.close(fd)
    return count


def which(*names):
    """The paths of the programs named that are installed."""
    return [p for p in (shutil.which(n) for n in names) if p]
