#!/usr/bin/env python3
"""One `stampede run` against LocalStack whose bees are played by this
script (see bench/merge.sh): once the run has uploaded its template, N bees'
result files go to the run's results prefix. Prints one line:

    mode=summaries bees=500 merged=500 read_jtl=0 end_s=2.31 upload_s=4.1 rss_mib=40.2

Real bees upload before they signal Done; LocalStack completes the Done
wait condition at once, so the run polls its stack slowly (POLL_S, default
8 s) to let this script's uploads land first (a warning says when not).

end_s is the time from the run's `done` phase to its exit: listing, fetching
and merging (or parsing) the bees' results, summary.json, the store, the gate.

    merge_run.py MODE BEES DIR DISTINCT STAMPEDE_BIN STAND_IN
    MODE: summaries (bee-K.summary.json) or jtl (bee-K.jtl.gz only)
"""

import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

BUCKET = "stampede-bench"


def s3_client(url):
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=boto3.session.Config(s3={"addressing_style": "path"}, max_pool_connections=32),
    )


def play_bees(s3, run_id, files, done):
    """Waits for the run's template, then uploads every bee's file."""
    key = f"stampede/{run_id}/template.yaml"
    deadline = time.monotonic() + 300
    while True:
        try:
            s3.head_object(Bucket=BUCKET, Key=key)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise SystemExit(f"the run never uploaded {key}")
            time.sleep(0.01)
    start = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), files))
    done["upload_s"] = time.monotonic() - start
    done["uploaded_at"] = time.monotonic()


def main():
    mode, bees, data, distinct, binary, stand_in = sys.argv[1:7]
    bees, distinct = int(bees), int(distinct)
    url = os.environ["STAMPEDE_LOCALSTACK_URL"]
    s3 = s3_client(url)
    try:
        s3.create_bucket(Bucket=BUCKET)
    except Exception:
        pass
    run_id = f"bench-merge-{os.getpid()}-{int(time.time())}"
    suffix = ".summary.json" if mode == "summaries" else ".jtl.gz"
    bodies = [open(os.path.join(data, f"bee-{i + 1}{suffix}"), "rb").read() for i in range(distinct)]
    files = [(f"stampede/{run_id}/results/i-{k + 1}{suffix}", bodies[k % distinct]) for k in range(bees)]
    done = {}
    player = threading.Thread(target=play_bees, args=(s3, run_id, files, done))
    player.start()
    env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_REGION="us-east-1", STAMPEDE_POLL_INTERVAL=os.environ.get("POLL_S", "8"), STAMPEDE_BEE_BINARY=stand_in,
               STAMPEDE_BUCKET=BUCKET, NO_COLOR="1")
    report = tempfile.mkdtemp(prefix="stampede-bench-merge-")
    proc = subprocess.Popen(
        [binary, "run", "blueprints/jmeter.yml", "--output", "plain", "--var", "target=http://127.0.0.1:9",
         "--run-id", run_id, "--report", report],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done_at, merged, read, lines = None, 0, 0, []
    gather_s = fetch_s = float("nan")
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("== done") and done_at is None:
            done_at = time.monotonic()
        m = re.search(r"merged (\d+) bee summar\w+(?:, read (\d+) bee JTL\S*)? in ([\d.]+) s \(([\d.]+) s fetching", line)
        if m:
            merged, read = int(m.group(1)), int(m.group(2) or 0)
            gather_s, fetch_s = float(m.group(3)), float(m.group(4))
    code = proc.wait()
    ended = time.monotonic()
    player.join()
    if code != 0 or done_at is None:
        sys.stderr.write("".join(lines[-30:]))
        raise SystemExit(f"the run exited {code}")
    if done["uploaded_at"] > done_at:
        sys.stderr.write("warning: the bees' uploads ended after the run's done phase: it may have missed some\n")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"mode={mode} bees={bees} merged={merged} read_jtl={read} end_s={ended - done_at:.2f} "
          f"gather_s={gather_s:.2f} fetch_s={fetch_s:.2f} upload_s={done['upload_s']:.1f} rss_mib={rss:.1f}")


if __name__ == "__main__":
    main()
