#!/usr/bin/env python3
"""Runs a command and writes its CPU seconds (user + sys) and peak RSS
(KiB) as JSON to the file named first: rusage.py OUT.json CMD [ARGS...].
The command's own output passes through."""
import json
import resource
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[2:]
proc = subprocess.run(cmd, check=False)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w", encoding="utf-8") as f:
    json.dump({"cpu_s": usage.ru_utime + usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss, "code": proc.returncode}, f)
sys.exit(proc.returncode)
