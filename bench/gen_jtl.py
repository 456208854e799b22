#!/usr/bin/env python3
"""Writes a deterministic JMeter 5.x CSV result file (JTL) for benchmarks.

    gen_jtl.py OUT [--rows N] [--seed S]

Same rows and seed, same bytes. About 110 bytes a row: the default 2,000,000
rows make ~220 MB. What is in it:

* the JMeter 5.x default header (17 columns);
* 20 labels of uneven weight, some needing CSV quoting: commas
  ("search, filtered") and one with doubled quotes (product "quick view");
* lognormal elapsed times per label, 1 ms .. 30 s, with rare slow outliers
  (x5..x40) and read timeouts at ~30 s;
* ~1% failures (success=false) with a failureMessage; some of those
  messages hold commas, quotes, or a line break inside their quotes, as
  JMeter writes assertion failures;
* rows in completion order over one hour from a fixed epoch-ms start:
  timeStamp is the sample *start* (end - elapsed), so it is not monotonic,
  and the file's first and last rows are not its min and max timeStamp.

Needs numpy (bench/.venv has it).
"""

import argparse
import os
import sys
import time

import numpy as np

HEADER = (
    "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,"
    "success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,"
    "IdleTime,Connect\n"
)

# label, weight, median ms, lognormal sigma, error rate, URL path, response bytes
LABELS = [
    ("home",                  12.0,   45, 0.50, 0.006, "/",             9800),
    ("login",                  3.0,  180, 0.45, 0.012, "/login",        2100),
    ("logout",                 1.5,   30, 0.40, 0.003, "/logout",        350),
    ("search",                 8.0,  120, 0.60, 0.009, "/search",      14000),
    ("search, filtered",       8.0,  260, 0.70, 0.022, "/search?f=1",  12500),
    ("category list",          6.0,   60, 0.55, 0.006, "/c/shoes",     11000),
    ("product detail",        10.0,   90, 0.55, 0.007, "/p/1234",      16000),
    ('product "quick view"',   3.0,   70, 0.50, 0.007, "/p/1234/qv",    4200),
    ("cart view",              5.0,   80, 0.50, 0.009, "/cart",         5200),
    ("cart, add item",         5.0,  140, 0.60, 0.018, "/cart/add",      640),
    ("cart, remove item",      1.5,  130, 0.60, 0.015, "/cart/rm",       610),
    ("checkout",               2.0,  650, 0.80, 0.030, "/checkout",     7300),
    ("payment authorize",      1.5, 1200, 0.90, 0.050, "/pay/auth",      900),
    ("order confirmation",     1.5,  200, 0.50, 0.012, "/order/ok",     6100),
    ("account profile",        2.0,  110, 0.50, 0.007, "/account",      4800),
    ("order history",          2.0,  340, 0.75, 0.015, "/orders",       8900),
    ("static assets",         15.0,    8, 0.60, 0.0015, "/s/app.js",   48000),
    ("api recommendations",    6.0,  150, 0.65, 0.013, "/api/reco",     2300),
    ("report export, csv",     0.5, 4500, 1.00, 0.060, "/export",     250000),
    ("healthcheck",            3.0,    3, 0.40, 0.0015, "/health",        60),
]

HOST = "http://sut:8080"
START_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z
DURATION_MS = 3_600_000
MAX_THREADS = 200
RAMP_MS = 300_000
MAX_ELAPSED = 30_000
OUTLIER_RATE = 0.0005
CHUNK = 100_000  # fixed: part of what makes the output deterministic

# Per outcome: "responseCode,responseMessage" and "success,failureMessage".
# Index 0 is success; the rest are failure kinds drawn with FAIL_P.
OUTCOMES = [
    ("200,OK", "true,"),
    ("500,Internal Server Error", 'false,"Response code was 500, expected 200"'),
    ("503,Service Unavailable", 'false,Test failed: code expected to equal 200'),
    (
        "Non HTTP response code: java.net.SocketTimeoutException,"
        "Non HTTP response message: Read timed out",
        "false,Read timed out",
    ),
    ("200,OK", 'false,"Assertion failed:\nexpected text ""in stock"", got ""sold out"""'),
]
FAIL_P = [0.40, 0.25, 0.25, 0.10]
TIMEOUT = 3


def csv_field(s):
    """Quotes a field the way JMeter's CSV writer does."""
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def generate(out, rows, seed):
    rng = np.random.default_rng(seed)
    n_labels = len(LABELS)
    weights = np.array([l[1] for l in LABELS])
    weights /= weights.sum()
    log_med = np.log(np.array([l[2] for l in LABELS], dtype=float))
    sigma = np.array([l[3] for l in LABELS])
    err = np.array([l[4] for l in LABELS])
    base_bytes = np.array([l[6] for l in LABELS], dtype=float)
    label_f = [csv_field(l[0]) for l in LABELS]
    url_f = [csv_field(HOST + l[5]) for l in LABELS]
    mids = [o[0] for o in OUTCOMES]
    tails = [o[1] for o in OUTCOMES]

    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="", buffering=1 << 20) as f:
        f.write(HEADER)
        for lo in range(0, rows, CHUNK):
            n = min(CHUNK, rows - lo)
            idx = np.arange(lo, lo + n, dtype=np.int64)
            end = START_MS + idx * DURATION_MS // max(rows, 1)

            lab = rng.choice(n_labels, size=n, p=weights)
            el = np.exp(log_med[lab] + sigma[lab] * rng.standard_normal(n))
            outlier = rng.random(n) < OUTLIER_RATE
            el[outlier] *= rng.uniform(5.0, 40.0, size=int(outlier.sum()))

            failed = rng.random(n) < err[lab]
            kind = np.zeros(n, dtype=np.int64)
            kind[failed] = 1 + rng.choice(len(FAIL_P), size=int(failed.sum()), p=FAIL_P)
            timeout = kind == TIMEOUT
            el[timeout] = MAX_ELAPSED - rng.integers(0, 10, size=int(timeout.sum()))
            el = np.clip(np.rint(el), 1, MAX_ELAPSED).astype(np.int64)

            ts = end - el
            latency = np.maximum(1, (el * rng.uniform(0.6, 0.98, size=n)).astype(np.int64))
            latency[timeout] = 0
            connect = np.where(rng.random(n) < 0.05,
                               rng.integers(10, 80, size=n),
                               rng.integers(0, 3, size=n))
            connect = np.minimum(connect, np.maximum(latency, el * timeout))
            nbytes = (base_bytes[lab] * rng.lognormal(0.0, 0.2, size=n)).astype(np.int64)
            nbytes[failed] = rng.integers(200, 1500, size=int(failed.sum()))
            sent = rng.integers(380, 900, size=n)
            active = np.minimum(MAX_THREADS, 1 + (end - START_MS) * MAX_THREADS // RAMP_MS)
            thread = 1 + (rng.random(n) * active).astype(np.int64)

            lines = [
                f"{t},{e},{label_f[l]},{mids[k]},Users 1-{th},text,{tails[k]},"
                f"{b},{s},{a},{a},{url_f[l]},{la},0,{c}\n"
                for t, e, l, k, th, b, s, a, la, c in zip(
                    ts.tolist(), el.tolist(), lab.tolist(), kind.tolist(),
                    thread.tolist(), nbytes.tolist(), sent.tolist(),
                    active.tolist(), latency.tolist(), connect.tolist())
            ]
            f.write("".join(lines))
    os.replace(tmp, out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="JTL file to write")
    p.add_argument("--rows", type=int, default=2_000_000, help="rows (default 2,000,000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    a = p.parse_args()
    if a.rows < 1:
        p.error("--rows must be at least 1")
    t0 = time.perf_counter()
    generate(a.out, a.rows, a.seed)
    size = os.path.getsize(a.out)
    print(f"{a.out}: {a.rows:,} rows, {size / 1e6:.1f} MB "
          f"({size / a.rows:.1f} B/row) in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
