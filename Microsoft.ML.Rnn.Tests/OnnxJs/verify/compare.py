"""Compares score.mjs output files: every output's type, dims and data.

    python3 compare.py A.json B.json [--tol 1e-5]

Prints one line per output (bitwise identical, or the largest absolute difference of float data) and exits 1 when
a type, shape or non-float value differs or a float difference exceeds the tolerance.
"""
import json
import math
import sys


def as_float(v):
    return float(v) if not isinstance(v, str) else float(v.replace("Infinity", "inf"))


def main():
    args = sys.argv[1:]
    tol = 1e-5
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i : i + 2]
    a_path, b_path = args
    a, b = json.load(open(a_path)), json.load(open(b_path))
    ok = True
    if list(a) != list(b):
        print(f"output names differ: {list(a)} vs {list(b)}")
        ok = sorted(a) == sorted(b) and ok
    for name in a:
        if name not in b:
            print(f"{name}: missing from {b_path}")
            ok = False
            continue
        x, y = a[name], b[name]
        if x["type"] != y["type"] or x["dims"] != y["dims"]:
            print(f"{name}: {x['type']}{x['dims']} vs {y['type']}{y['dims']}")
            ok = False
            continue
        if x["data"] == y["data"]:
            print(f"{name}: {x['type']}{x['dims']} identical")
            continue
        if x["type"] not in ("float32", "float64", "float16"):
            print(f"{name}: {x['type']}{x['dims']} values differ: {x['data'][:8]} vs {y['data'][:8]}")
            ok = False
            continue
        diff = 0.0
        for p, q in zip(x["data"], y["data"]):
            p, q = as_float(p), as_float(q)
            if math.isnan(p) and math.isnan(q):
                continue
            diff = max(diff, abs(p - q) if not (math.isinf(p) or math.isinf(q)) or p != q else 0.0)
        verdict = "within" if diff <= tol else "EXCEEDS"
        print(f"{name}: {x['type']}{x['dims']} max |diff| {diff:.3g} ({verdict} {tol:g})")
        ok = ok and diff <= tol
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
