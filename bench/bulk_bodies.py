#!/usr/bin/env python3
"""Writes the `_bulk` NDJSON bodies `stampede ship` would send for a JTL.

    bulk_bodies.py JTL OUTDIR --index IDX [--bee B] [--run-id R] [--batch N]
    bulk_bodies.py --template IDX

The second form prints the index template `stampede ship` puts for IDX
(`_index_template/stampede-IDX`, src/metrics/doc.rs index_template).

OUTDIR gets chunk-00000.ndjson, chunk-00001.ndjson, ... of N rows each
(default 5000, stampede's BATCH_ROWS) and `rows`, the total row count.
Each row becomes the action line
`{"index":{"_index":IDX,"_id":"<bee>-<byte offset of the row>"}}` and a
document built as src/metrics/doc.rs builds it: the same fields, in the
same order, with the same types and values:

* columns matched to fields by header name, case-insensitively; a file
  without a header has JMeter 5.x's 17 default columns;
* numbers and the epoch-ms timestamp as written (ASCII digits, < 19 of
  them), `success` as a JSON boolean, text as a JSON string (empty text
  kept, empty numbers left out); a row with a malformed number, boolean
  or timestamp is skipped, as stampede skips it ("malformed");
* `bee` and `run_id` last.

Only epoch-ms timestamps are handled (the generated JTLs use them); a
row with a formatted date is reported as malformed here.

Only the standard library.
"""

import argparse
import csv
import json
import os
import sys

# JTL column -> (document field, kind), in document order (doc.rs FIELDS).
FIELDS = [
    ("timeStamp", "@timestamp", "time"),
    ("elapsed", "elapsed", "number"),
    ("label", "label", "text"),
    ("responseCode", "response_code", "text"),
    ("responseMessage", "response_message", "text"),
    ("threadName", "thread", "text"),
    ("success", "success", "bool"),
    ("failureMessage", "failure_message", "text"),
    ("bytes", "bytes", "number"),
    ("sentBytes", "sent_bytes", "number"),
    ("grpThreads", "grp_threads", "number"),
    ("allThreads", "all_threads", "number"),
    ("URL", "url", "text"),
    ("Latency", "latency", "number"),
    ("IdleTime", "idle_time", "number"),
    ("Connect", "connect", "number"),
]

DEFAULT_NAMES = [
    "timeStamp", "elapsed", "label", "responseCode", "responseMessage",
    "threadName", "dataType", "success", "failureMessage", "bytes",
    "sentBytes", "grpThreads", "allThreads", "URL", "Latency", "IdleTime",
    "Connect",
]

BOOLS = {"true": "true", "TRUE": "true", "false": "false", "FALSE": "false"}


def index_template(index):
    """doc.rs index_template(), field for field."""
    kw = {"type": "keyword"}
    return {
        "index_patterns": [index, f"{index}-*"],
        "template": {
            "settings": {"number_of_replicas": 0, "refresh_interval": "1s"},
            "mappings": {
                "dynamic": False,
                "properties": {
                    "@timestamp": {"type": "date",
                                   "format": "epoch_millis||strict_date_optional_time"},
                    "label": kw,
                    "response_code": kw,
                    "response_message": {"type": "keyword", "ignore_above": 512},
                    "failure_message": {"type": "keyword", "ignore_above": 1024},
                    "thread": kw,
                    "url": {"type": "keyword", "ignore_above": 2048},
                    "bee": kw,
                    "run_id": kw,
                    "elapsed": {"type": "long"},
                    "latency": {"type": "long"},
                    "connect": {"type": "long"},
                    "idle_time": {"type": "long"},
                    "bytes": {"type": "long"},
                    "sent_bytes": {"type": "long"},
                    "grp_threads": {"type": "integer"},
                    "all_threads": {"type": "integer"},
                    "success": {"type": "boolean"},
                },
            },
        },
    }


def jstr(s):
    return json.dumps(s, ensure_ascii=False)


def rows_with_offsets(path):
    """(byte offset of the record's first byte, fields) for each CSV
    record; quoted line breaks make one record span several lines.
    csv.reader pulls lines only as it needs them, so when it hands out a
    record, every byte read so far belongs to that record or earlier ones:
    the next record starts there."""
    pos = [0]

    def lines(f):
        for raw in f:
            pos[0] += len(raw)
            yield raw.decode("utf-8", errors="replace")

    with open(path, "rb") as f:
        start = 0
        for record in csv.reader(lines(f), strict=False):
            if record:  # the Rust csv reader skips empty lines too
                yield start, record
            start = pos[0]


def is_header(record):
    """Columns::from_header: a header names timeStamp, elapsed or label
    (stampede rejects one that misses any of them; here it is taken)."""
    names = {n.removeprefix("\ufeff").lower() for n in record}
    return bool({"timestamp", "elapsed", "label"} & names)


def main():
    if sys.argv[1:2] == ["--template"] and len(sys.argv) == 3:
        print(json.dumps(index_template(sys.argv[2])))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("jtl")
    p.add_argument("outdir")
    p.add_argument("--index", required=True)
    p.add_argument("--bee", default="b1")
    p.add_argument("--run-id", default="bench")
    p.add_argument("--batch", type=int, default=5000)
    a = p.parse_args()

    os.makedirs(a.outdir, exist_ok=True)
    for name in os.listdir(a.outdir):
        if name.startswith("chunk-") or name == "rows":
            os.unlink(os.path.join(a.outdir, name))

    action_prefix = '{"index":{"_index":' + jstr(a.index) + ',"_id":' + jstr(a.bee + "-")[:-1]
    tail = ',"bee":' + jstr(a.bee) + ',"run_id":' + jstr(a.run_id) + "}\n"

    fields = None
    rows = malformed = chunk_no = in_chunk = 0
    buf = []

    def flush():
        nonlocal chunk_no, in_chunk, buf
        if buf:
            with open(os.path.join(a.outdir, f"chunk-{chunk_no:05d}.ndjson"), "w",
                      encoding="utf-8") as f:
                f.write("".join(buf))
            chunk_no += 1
        buf, in_chunk = [], 0

    for offset, rec in rows_with_offsets(a.jtl):
        if fields is None:
            names = rec if offset == 0 and is_header(rec) else DEFAULT_NAMES
            low = [n.lower() for n in names]
            fields = [(low.index(col.lower()), field, kind)
                      for col, field, kind in FIELDS if col.lower() in low]
            if names is rec:
                continue
        parts = []
        ok = True
        for i, field, kind in fields:
            if i >= len(rec):
                continue
            raw = rec[i]
            if raw == "" and kind != "text":
                continue
            if kind == "text":
                v = jstr(raw)
            elif kind == "bool":
                v = BOOLS.get(raw)
            else:  # number, time (epoch ms)
                v = raw if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
            if v is None:
                ok = False
                break
            parts.append('"' + field + '":' + v)
        if not ok:
            malformed += 1
            continue
        buf.append(action_prefix + str(offset) + '"}}\n{' + ",".join(parts) + tail)
        rows += 1
        in_chunk += 1
        if in_chunk >= a.batch:
            flush()
    flush()
    with open(os.path.join(a.outdir, "rows"), "w") as f:
        f.write(f"{rows}\n")
    print(f"{a.outdir}: {rows} rows in {chunk_no} chunks, {malformed} malformed",
          file=sys.stderr)


if __name__ == "__main__":
    main()
