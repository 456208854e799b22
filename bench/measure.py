#!/usr/bin/env python3
"""Runs one command and prints its wall time, CPU time and peak memory.

    measure.py [--stdout FILE] [--] CMD [ARG...]

Prints one line on stdout: `WALL_S CPU_S MAXRSS_MIB` (CPU = user + sys of
the command and the children it waited for; max RSS from wait4, i.e. the
largest resident set among them, like GNU time's %M). The command's stdout
goes to FILE, or to /dev/null; its stderr passes through. Exits with the
command's status.

Only the standard library, so it works on any Python 3 (Linux, macOS).
"""

import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    out_path = os.devnull
    if args[:1] == ["--stdout"]:
        if len(args) < 2:
            sys.exit("measure.py: --stdout needs a file")
        out_path, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__.strip())
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(args, stdout=out)
        except OSError as e:
            sys.exit(f"measure.py: cannot run {args[0]}: {e}")
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss: KiB on Linux, bytes on macOS.
    rss_bytes = ru.ru_maxrss if sys.platform == "darwin" else ru.ru_maxrss * 1024
    cpu = ru.ru_utime + ru.ru_stime
    print(f"{wall:.3f} {cpu:.3f} {rss_bytes / 2**20:.1f}", flush=True)
    if proc.returncode != 0:
        print(f"measure.py: {' '.join(args)} exited with {proc.returncode}", file=sys.stderr)
        sys.exit(proc.returncode if proc.returncode > 0 else 1)


if __name__ == "__main__":
    main()
