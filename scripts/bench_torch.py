#!/usr/bin/env python3
"""PyTorch reference for `ctr-run bench`: the same model trained the same way.

Same data file (a raw file written by `ctr-run gen`), same fields, batch 512,
one pass over the first 90% of rows, Adam for the dense layers and
SparseAdam for the embedding table (sparse gradients, lazy row updates),
the same number of threads. Parsing and encoding are done once up front and
are NOT timed (this favours PyTorch: ctr-run's figure includes reading and
parsing the file on its reader thread).

    python3 scripts/bench_torch.py --model mlp --data /tmp/avazu.csv --threads 2
"""
import argparse
import csv
import gzip
import math
import time

import torch
import torch.nn as nn

# Which columns are label, categorical fields and dense features, per format;
# mirrors the schema presets of src/data/.
FORMATS = {
    "avazu": dict(delim=",", header=True, label="click", drop={"id", "click"}, dense=[]),
    "criteo": dict(delim="\t", header=False, label=0, cat=list(range(14, 40)), dense=list(range(1, 14))),
    # The 16 fields of src/data/schema.rs IPINYOU_FIELDS (usertag off by default).
    "ipinyou": dict(delim="\t", header=True, label="click", keep=[
        "weekday", "hour", "useragent", "IP", "region", "city", "adexchange", "domain", "slotid",
        "slotwidth", "slotheight", "slotvisibility", "slotformat", "slotprice", "creative", "advertiser"], dense=[]),
}
MODEL_FORMAT = {"mlp": "avazu", "lr": "avazu", "dcn": "criteo", "opnn": "ipinyou"}


def open_text(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path, "rt", newline="")


def encode(path, fmt):
    """-> (ids: list of per-sample lists of bags, dense rows, labels, n_features, n_fields)."""
    spec = FORMATS[fmt]
    vocab = {}
    samples, dense, labels = [], [], []
    with open_text(path) as f:
        rows = csv.reader(f, delimiter=spec["delim"])
        if spec["header"]:
            header = next(rows)
            li = header.index(spec["label"])
            if "keep" in spec:
                cat = [header.index(h) for h in spec["keep"]]
            else:
                cat = [i for i, h in enumerate(header) if h not in spec["drop"]]
            multi = set()
        else:
            li, cat, multi = spec["label"], spec["cat"], set()
        for row in rows:
            labels.append(float(row[li]))
            bags = []
            for i in cat:
                vals = row[i].split(",") if i in multi else [row[i]]
                bags.append([vocab.setdefault((i, v), len(vocab)) for v in vals if v != "" or i not in multi])
            samples.append(bags)
            if spec["dense"]:
                dense.append([math.log1p(max(float(row[i]), 0.0)) if row[i] != "" else 0.0 for i in spec["dense"]])
    return samples, dense, labels, len(vocab), len(cat)


class Net(nn.Module):
    def __init__(self, model, n_features, n_fields, n_dense, dim):
        super().__init__()
        self.model, self.dim, self.n_fields = model, dim, n_fields
        self.emb = nn.EmbeddingBag(n_features, dim, mode="sum", sparse=True)
        nn.init.normal_(self.emb.weight, std=0.01)
        x = n_fields * dim + n_dense
        if model == "mlp":
            self.net = nn.Sequential(nn.Linear(x, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                     nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
        elif model == "lr":
            self.bias = nn.Parameter(torch.zeros(1))
        elif model == "dcn":
            self.cross_w = nn.ParameterList([nn.Parameter(torch.randn(x) * 0.01) for _ in range(2)])
            self.cross_b = nn.ParameterList([nn.Parameter(torch.zeros(x)) for _ in range(2)])
            self.deep = nn.Sequential(nn.Linear(x, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.out = nn.Linear(x + 64, 1)
        elif model == "opnn":
            self.wz = nn.Linear(n_fields * dim, 512, bias=True)
            self.wp = nn.Linear(dim * dim, 512, bias=False)
            self.net = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5),
                                     nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 1))

    def forward(self, flat_ids, offsets, dense):
        b = dense.shape[0]
        e = self.emb(flat_ids, offsets).view(b, self.n_fields, self.dim)
        if self.model == "lr":
            return e.sum(dim=(1, 2)) + self.bias
        z = e.reshape(b, -1)
        if self.model == "mlp":
            return self.net(torch.cat([z, dense], 1) if dense.shape[1] else z).squeeze(1)
        if self.model == "dcn":
            x0 = torch.cat([z, dense], 1)
            x = x0
            for w, bias in zip(self.cross_w, self.cross_b):
                x = x0 * (x @ w).unsqueeze(1) + bias + x
            return self.out(torch.cat([x, self.deep(x0)], 1)).squeeze(1)
        f = e.sum(1)
        p = torch.bmm(f.unsqueeze(2), f.unsqueeze(1)).reshape(b, -1)
        return self.net(self.wz(z) + self.wp(p)).squeeze(1)


def batches(samples, dense, labels, lo, hi, bs):
    for s in range(lo, hi, bs):
        e = min(s + bs, hi)
        flat, offs = [], []
        for bags in samples[s:e]:
            for bag in bags:
                offs.append(len(flat))
                flat.extend(bag)
        d = torch.tensor(dense[s:e]) if dense else torch.zeros(e - s, 0)
        yield torch.tensor(flat), torch.tensor(offs), d, torch.tensor(labels[s:e])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp", choices=list(MODEL_FORMAT))
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dim = args.dim or {"mlp": 16, "lr": 1, "dcn": 8, "opnn": 10}[args.model]
    t0 = time.time()
    samples, dense, labels, n_features, n_fields = encode(args.data, MODEL_FORMAT[args.model])
    t_enc = time.time() - t0
    n_dense = len(dense[0]) if dense else 0
    net = Net(args.model, n_features, n_fields, n_dense, dim)
    dense_params = [p for n, p in net.named_parameters() if not n.startswith("emb.")]
    opt_sparse = torch.optim.SparseAdam([net.emb.weight], lr=args.lr)
    opt_dense = torch.optim.Adam(dense_params, lr=args.lr) if dense_params else None
    loss_fn = nn.BCEWithLogitsLoss()
    n_train = int(len(labels) * 0.9)
    # Pre-build the batch tensors so that only training is timed.
    prepared = list(batches(samples, dense, labels, 0, n_train, args.batch))
    net.train()
    t0 = time.time()
    for flat, offs, d, y in prepared:
        opt_sparse.zero_grad()
        if opt_dense:
            opt_dense.zero_grad()
        loss = loss_fn(net(flat, offs, d), y)
        loss.backward()
        opt_sparse.step()
        if opt_dense:
            opt_dense.step()
    t_train = time.time() - t0
    print(f"pytorch {torch.__version__} {args.model}: {n_train} samples, {n_features} features, {n_fields} fields; "
          f"encode {t_enc:.1f}s (not timed); train {t_train:.2f}s = {n_train / t_train:.0f} samples/s "
          f"on {args.threads} threads")


if __name__ == "__main__":
    main()
