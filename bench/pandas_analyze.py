#!/usr/bin/env python3
"""The pandas peer of `stampede analyze`: the same per-label table.

    pandas_analyze.py FILE.jtl [--json OUT]

Written as a pandas user would: read_csv (C engine, only the columns the
table needs), groupby, quantile. Per label and in total: count, errors,
error %, mean, p50/p90/p95/p99 (pandas' default linear interpolation),
max, and throughput = count / (max - min timeStamp) in seconds, with a
1 s minimum span like stampede's.
"""

import argparse
import json

import pandas as pd

QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
COLUMNS = ["label", "count", "errors", "error_rate", "mean",
           *QUANTILES, "max", "throughput", "span_ms"]


def summarize(df, by=None):
    """The table's columns, per label (by="label") or for all rows."""
    g = df.groupby(by, sort=False) if by else df.assign(_all="total").groupby("_all")
    out = g.agg(
        count=("elapsed", "size"),
        errors=("failed", "sum"),
        mean=("elapsed", "mean"),
        max=("elapsed", "max"),
        first=("timeStamp", "min"),
        last=("timeStamp", "max"),
    )
    q = g["elapsed"].quantile(list(QUANTILES.values())).unstack()
    q.columns = list(QUANTILES)
    out = out.join(q)
    out["error_rate"] = out["errors"] / out["count"]
    out["span_ms"] = out["last"] - out["first"]
    out["throughput"] = out["count"] / (out["span_ms"].clip(lower=1000) / 1000)
    out.index.name = "label"
    return out.reset_index()[COLUMNS]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("jtl")
    p.add_argument("--json", metavar="OUT", help="write the table as JSON")
    a = p.parse_args()

    df = pd.read_csv(a.jtl, engine="c",
                     usecols=["timeStamp", "elapsed", "label", "success"])
    ok = df["success"]
    if ok.dtype != bool:  # mixed or odd spellings: compare as text
        ok = ok.astype(str).str.lower().eq("true")
    df["failed"] = ~ok

    labels = summarize(df, "label")
    total = summarize(df)

    table = pd.concat([labels, total], ignore_index=True)
    shown = table.assign(error_rate=table["error_rate"] * 100).rename(
        columns={"error_rate": "error %"})
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.1f}"))

    if a.json:
        doc = {
            "labels": labels.to_dict(orient="records"),
            "total": total.to_dict(orient="records")[0],
            "start": int(df["timeStamp"].min()),
            "end": int(df["timeStamp"].max()),
        }
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2, default=lambda v: v.item())


if __name__ == "__main__":
    main()
