#!/usr/bin/python3
"""PyTorch reference for bench/RnnBench: the same fused LSTM configs, trained and run the way RawLstmClassifier.cs does
(nn.LSTM batch-first -> last step -> Linear, cross-entropy, clip_grad_norm_(5), Adam lr 0.003), timed the same way
(warm-up, repetitions, median with p10/p90). Writes bench/results/python.json, which the C# harness reads.

Usage: /usr/bin/python3 bench/python/bench_torch.py [--quick] [--threads K] [--out PATH]
The C# harness runs it in the same benchmark run (figure 1's Python rows). If torch cannot be imported it says so and
exits 0 without writing anything (the C# harness then leaves those rows out).
"""
import gc
import json
import os
import sys
import time

try:
    import torch
except ImportError as error:
    print(f"bench_torch.py: cannot import torch ({error}); no Python figures written.")
    sys.exit(0)

QUICK = "--quick" in sys.argv
CONFIGS = [(64, 50, 64, 128)] if QUICK else [(64, 50, 64, 128), (64, 200, 64, 128), (32, 100, 128, 256), (1, 50, 64, 128)]
WARMUP, REPETITIONS, BATCHES = (1, 5, 4) if QUICK else (2, 10, 8)
CLASSES = 4


def percentile(values, q):
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def timed(body):
    for _ in range(WARMUP):
        body()
    times = []
    for _ in range(REPETITIONS):
        gc.collect()
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return times


def as_rate(times, work):
    rates = [work / t for t in times]
    return {"median": percentile(rates, 0.5), "p10": percentile(rates, 0.1), "p90": percentile(rates, 0.9),
            "repetitions": len(rates)}


def bench(n, l, h_in, h):
    torch.manual_seed(7)
    rows = 32 if n == 1 else n * BATCHES
    batches = [(torch.rand(n, l, h_in) * 2 - 1, torch.randint(0, CLASSES, (n,))) for _ in range(rows // n)]

    def make():
        lstm = torch.nn.LSTM(h_in, h, batch_first=True)
        linear = torch.nn.Linear(h, CLASSES)
        return lstm, linear

    def train():
        lstm, linear = make()
        params = list(lstm.parameters()) + list(linear.parameters())
        opt = torch.optim.Adam(params, lr=0.003)
        for x, y in batches:
            opt.zero_grad()
            out, _ = lstm(x)
            loss = torch.nn.functional.cross_entropy(linear(out[:, -1]), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()

    lstm, linear = make()

    def infer():
        with torch.no_grad():
            for x, _ in batches:
                out, _ = lstm(x)
                torch.softmax(linear(out[:, -1]), 1).numpy().tolist()

    return {"config": {"n": n, "l": l, "inputSize": h_in, "hiddenSize": h},
            "train": as_rate(timed(train), rows), "inference": as_rate(timed(infer), rows)}


def blas():
    for part in torch.__config__.show().replace(",", "\n").splitlines():
        if "BLAS_INFO" in part:
            return part.split("=", 1)[1].strip()
    return "unknown"


def main():
    # Debian's build defaults to one thread; with 2 threads it measured 3-4x slower on the loaded 2-core machine
    # (OpenMP oversubscription), so the default is kept. --threads K overrides it.
    if "--threads" in sys.argv:
        torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    print(f"torch {torch.__version__}, BLAS {blas()}, {torch.get_num_threads()} threads")
    records = []
    for config in CONFIGS:
        record = bench(*config)
        records.append(record)
        print(f"{config}: training {record['train']['median']:.1f} seq/s, inference {record['inference']['median']:.1f} seq/s")
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results", "python.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "blas": blas(), "threads": torch.get_num_threads(), "quick": QUICK,
                   "warmup": WARMUP, "repetitions": REPETITIONS, "records": records}, f, indent=2)
    print(f"written to {os.path.relpath(out, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))}")


if __name__ == "__main__":
    main()
