#!/usr/bin/env python3
"""Check that a runs.csv loads in pandas as a tidy table.

Usage: scripts/check_runs_csv.py RUNS_CSV [AXIS ...]

Every AXIS (default: the config columns, dotted names like
`optimizer.lambda21`, that vary across the finished runs) must be a numeric
column unless it holds text settings (optimizer.name ...), and the metric
columns must be numeric. Exits non-zero naming the first column that is not.
"""
import sys

import pandas as pd

METRICS = ["auc", "logloss", "feature_rate", "nonzero_features", "seen_features",
           "train_samples", "test_samples", "wall_seconds", "samples_per_second"]
TEXT_SETTINGS = {"model.kind", "optimizer.name", "optimizer.group_norm",
                 "optimizer.regularizer", "data.format", "data.split", "data.train",
                 "data.test", "data.cache_dir"}


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    df = pd.read_csv(sys.argv[1])
    done = df[df["status"] == "finished"]
    if done.empty:
        print(f"{sys.argv[1]}: no finished runs")
        return 1
    axes = sys.argv[2:] or [
        c for c in df.columns
        if "." in c and c not in TEXT_SETTINGS and done[c].nunique(dropna=False) > 1
    ]
    for c in axes + METRICS:
        if c not in df.columns:
            print(f"{sys.argv[1]}: no column {c!r}")
            return 1
        if not pd.api.types.is_numeric_dtype(df[c]):
            print(f"{sys.argv[1]}: column {c!r} is {df[c].dtype}, not numeric")
            return 1
    print(f"{sys.argv[1]}: {len(df)} rows; numeric axes {axes}; "
          f"mean auc by axes:\n{done.groupby(axes)['auc'].agg(['mean', 'std', 'count'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
