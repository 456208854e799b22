#!/usr/bin/env python3
"""Runs one command and prints its wall time, CPU time and peak memory.

    measure.py [--stdout FILE] [--] CMD [ARG...]

Prints one line on stdout: `WALL_S CPU_S MAXRSS_MIB SOURCE`. Wall time is
measured here (perf_counter); CPU is user + sys of the command and the
children it waited for (wait4). The command's stdout goes to FILE, or to
/dev/null; its stderr passes through. Exits with the command's status.

Max RSS: a child's ru_maxrss includes the resident set of the process it
was forked from, up to its exec, so a Python launcher puts a ~10 MiB floor
under every figure (`wc -l` would show 11 MiB). When GNU time is at
/usr/bin/time, the command runs under `/usr/bin/time -f %M` (a ~1 MiB
floor) and the RSS is its figure: SOURCE is `gnu-time`. Otherwise it is
wait4's, floor included: SOURCE is `wait4`.

Only the standard library: any Python 3.9+ (Linux, macOS).
"""

import os
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


def has_gnu_time():
    try:
        r = subprocess.run([GNU_TIME, "--version"], capture_output=True, text=True)
    except OSError:
        return False
    return "GNU" in r.stdout + r.stderr


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

    rss_file = None
    cmd = args
    if has_gnu_time():
        fd, rss_file = tempfile.mkstemp(prefix="measure-", suffix=".rss")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file, *args]
    try:
        with open(out_path, "wb") as out:
            t0 = time.perf_counter()
            try:
                proc = subprocess.Popen(cmd, stdout=out)
            except OSError as e:
                sys.exit(f"measure.py: cannot run {cmd[0]}: {e}")
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        cpu = ru.ru_utime + ru.ru_stime
        if rss_file:
            # GNU time may put "Command exited with non-zero status N" first.
            with open(rss_file) as f:
                last = f.read().split()[-1:]
            rss_mib = int(last[0]) / 1024 if last and last[0].isdigit() else float("nan")
            source = "gnu-time"
        else:
            # ru_maxrss: KiB on Linux, bytes on macOS.
            unit = 1 if sys.platform == "darwin" else 1024
            rss_mib = ru.ru_maxrss * unit / 2**20
            source = "wait4"
    finally:
        if rss_file:
            os.unlink(rss_file)
    print(f"{wall:.3f} {cpu:.3f} {rss_mib:.1f} {source}", flush=True)
    if code != 0:
        print(f"measure.py: {' '.join(args)} exited with {code}", file=sys.stderr)
        sys.exit(code if code > 0 else 1)


if __name__ == "__main__":
    main()
