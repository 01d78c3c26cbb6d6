#!/usr/bin/python3
"""Classical forecasting baselines under the repository's forecasting protocol (docs/forecasting.md).

Usage: /usr/bin/python3 bench/forecast_baselines.py [--every K] [--out PATH]

Series (data/): co2-weekly (target co2, m = 52, H = 52), elec-equip-monthly (its single value column, m = 12,
H = 12), us-macro-quarterly (targets unemp and infl separately; seasonally adjusted, so m = 1, H = 4).

Protocol (everything a second implementation needs to reproduce the splits and the metrics):
- Missing values (empty cells; only co2-weekly has them) are filled first, by linear interpolation in time between
  the nearest observed neighbours (the co2 dates are exactly 7 days apart, so this is linear in the row index).
  A missing value before the first or after the last observation would take the nearest observation (the files
  have none). Metrics are computed only at target points that were observed in the file.
- n points, n_train = floor(0.8 n) (computed as (4 n) div 5 in integers); the training part is y[0..n_train-1],
  the test part the rest. Nothing is shuffled.
- Rolling origin: for each origin t = n_train, n_train + K, ..., up to n - H (K = --every, default 1, the same for
  every method), forecast y[t..t+H-1] from y[0..t-1] only. Model parameters are fitted once, on the training part;
  at each origin the fitted model is run over y[0..t-1] with those parameters fixed (no refit).
- Errors e = yhat - y over all (origin, h) pairs with an observed target: MAE = mean |e|, RMSE = sqrt(mean e^2),
  per-step MAE for h = 1..H, MASE = MAE / scale with scale = mean of |y[i] - y[i-m]| for i = m..n_train-1 (the
  in-sample one-step seasonal naive error on the training part; on the interpolated series for co2).
- Seasonal naive: yhat[t+h-1] = y[t+h-1 - m k] with k = ceil(h / m) (for m = 1, the last value y[t-1]).
- Holt-Winters: statsmodels ETSModel with additive error, additive trend (damped or not, chosen by AIC on the
  training part) and an additive season of period m when m > 1; initial states estimated with the parameters.
- ARIMA: statsmodels SARIMAX as a regression with ARIMA errors, orders chosen by AIC on the training part (grids
  below). Trend regressors by the total differencing order d + D: 0 -> a constant (the mean), 1 -> a linear time
  trend (a drift), 2 -> none. Every candidate of a series is scored on the same observations (the first
  max(d) + max(D) m training points are left out of every likelihood), so their AICs are comparable.

Needs only the standard library for the seasonal naive; Holt-Winters and ARIMA need numpy and statsmodels (Debian 12:
apt-get install python3-statsmodels, statsmodels 0.13.5). Without them the script says so, prints the seasonal naive
and exits 0 without writing the JSON (unless --out is given), so a full record is never replaced by a partial one.
"""
import argparse
import csv
import datetime
import itertools
import json
import math
import os
import platform
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")
DEFAULT_OUT = os.path.join(ROOT, "bench", "results", "forecast-baselines.json")
INSTALL = "apt-get update && apt-get install -y python3-statsmodels"

try:
    import numpy as np
    import statsmodels
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    STATSMODELS_ERROR = None
except ImportError as error:  # the seasonal naive still runs
    STATSMODELS_ERROR = str(error)

# Weekly co2: the yearly season as Fourier terms of period 365.25 / 7 weeks (a SARIMA with a 52-lag season is too
# slow in statsmodels' state space form); the number of sine/cosine pairs K is part of the AIC grid.
CO2_FOURIER_PERIOD = 365.25 / 7
ARIMA_PQ = range(0, 3)
ARIMA_D = range(0, 2)
SEASONAL_PDQ = list(itertools.product(range(0, 2), range(0, 2), range(0, 2)))
FOURIER_K = range(1, 7)  # AIC is lowest at K = 5 for co2 (K = 4 was the edge of a 1..4 grid)
ETS_FIT = dict(disp=False, maxiter=1000, maxfun=100000)  # L-BFGS; the default maxfun (15000) stops co2 early
SARIMAX_FIT = dict(disp=False, maxiter=200)  # statsmodels' default of 50 iterations leaves many candidates unconverged


# ---------------------------------------------------------------- data (standard library only)

def read_csv(name):
    with open(os.path.join(DATA, name), newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def parse(cell):
    cell = cell.strip()
    return None if cell == "" else float(cell)


def interpolate(values, times):
    """Fills None by linear interpolation in time between the nearest observed neighbours (nearest value at the
    ends). Returns the filled list and the observed mask."""
    observed = [v is not None for v in values]
    known = [i for i, ok in enumerate(observed) if ok]
    if not known:
        raise ValueError("series has no observed value")
    filled = list(values)
    for i, v in enumerate(values):
        if v is not None:
            continue
        before = [k for k in known if k < i]
        after = [k for k in known if k > i]
        if not before:
            filled[i] = values[after[0]]
        elif not after:
            filled[i] = values[before[-1]]
        else:
            a, b = before[-1], after[0]
            w = (times[i] - times[a]) / (times[b] - times[a])
            filled[i] = values[a] + w * (values[b] - values[a])
    return filled, observed


def load_series():
    """The four (series, target) tasks, each with its raw values (None = missing), times and m, H."""
    tasks = []

    header, rows = read_csv("co2-weekly.csv")
    assert header == ["date", "co2"], header
    days = [datetime.date(int(r[0][:4]), int(r[0][4:6]), int(r[0][6:8])).toordinal() for r in rows]
    tasks.append(dict(series="co2-weekly", file="co2-weekly.csv", target="co2", m=52, H=52,
                      raw=[parse(r[1]) for r in rows], times=days,
                      first=rows[0][0], last=rows[-1][0]))

    header, rows = read_csv("elec-equip-monthly.csv")
    assert len(header) == 2, header
    tasks.append(dict(series="elec-equip-monthly", file="elec-equip-monthly.csv", target=header[1], m=12, H=12,
                      raw=[parse(r[1]) for r in rows], times=list(range(len(rows))),
                      first=rows[0][0], last=rows[-1][0]))

    header, rows = read_csv("us-macro-quarterly.csv")
    for target in ("unemp", "infl"):
        col = header.index(target)
        tasks.append(dict(series="us-macro-quarterly", file="us-macro-quarterly.csv", target=target, m=1, H=4,
                          raw=[parse(r[col]) for r in rows], times=list(range(len(rows))),
                          first="%sQ%s" % (rows[0][0], rows[0][1]), last="%sQ%s" % (rows[-1][0], rows[-1][1])))

    for task in tasks:
        task["y"], task["observed"] = interpolate(task["raw"], task["times"])
        n = len(task["y"])
        task["n"] = n
        task["n_train"] = (4 * n) // 5  # floor(0.8 n)
        m = task["m"]
        train = task["y"][:task["n_train"]]
        task["scale"] = sum(abs(train[i] - train[i - m]) for i in range(m, len(train))) / (len(train) - m)
    return tasks


def origins(task, every):
    return list(range(task["n_train"], task["n"] - task["H"] + 1, every))


# ---------------------------------------------------------------- metrics and the seasonal naive

def score(task, forecasts):
    """forecasts: {origin t: [yhat for h = 1..H]}. Errors only where the target was observed."""
    H, y, observed = task["H"], task["y"], task["observed"]
    abs_sum, sq_sum, count = 0.0, 0.0, 0
    step_sum, step_count = [0.0] * H, [0] * H
    for t, yhat in forecasts.items():
        for h in range(1, H + 1):
            i = t + h - 1
            if not observed[i]:
                continue
            e = float(yhat[h - 1]) - y[i]
            abs_sum += abs(e)
            sq_sum += e * e
            count += 1
            step_sum[h - 1] += abs(e)
            step_count[h - 1] += 1
    mae = abs_sum / count
    return dict(MAE=mae, RMSE=math.sqrt(sq_sum / count), MASE=mae / task["scale"], points=count,
                MAE_by_h=[s / c if c else None for s, c in zip(step_sum, step_count)])


def seasonal_naive(task, every):
    m, H, y = task["m"], task["H"], task["y"]
    forecasts = {}
    for t in origins(task, every):
        forecasts[t] = [y[t + h - 1 - m * ((h + m - 1) // m)] for h in range(1, H + 1)]  # k = ceil(h / m)
    return dict(config="y[t+h-1-m*ceil(h/m)]" if m > 1 else "last value y[t-1]", fit_seconds=0.0,
                forecast_seconds=0.0, **score(task, forecasts))


# ---------------------------------------------------------------- Holt-Winters (statsmodels ETSModel)

def ets_model(endog, m, damped):
    return ETSModel(endog, error="add", trend="add", damped_trend=damped,
                    seasonal="add" if m > 1 else None, seasonal_periods=m if m > 1 else None,
                    initialization_method="estimated")


def ets_name(m, damped):
    return "ETS(A,%s,%s)" % ("Ad" if damped else "A", "A" if m > 1 else "N") + (" m=%d" % m if m > 1 else "")


def holt_winters(task, every):
    m, H = task["m"], task["H"]
    y = np.asarray(task["y"], dtype=float)
    train = y[:task["n_train"]]
    start = time.perf_counter()
    candidates = []
    for damped in (False, True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = ets_model(train, m, damped).fit(**ETS_FIT)
        candidates.append(dict(damped=damped, aic=float(res.aic), converged=bool(res.mle_retvals["converged"]),
                               warnings=sorted({w.category.__name__ for w in caught}), res=res))
    best = min(candidates, key=lambda c: c["aic"])
    fit_seconds = time.perf_counter() - start

    # Fixed parameters, state run over y[0..t-1]: ETSResults has no apply() in statsmodels 0.13.5, and a fresh
    # ETSModel(y[:t]).smooth(params) per origin costs ~0.7 s on co2 (it builds a numerical Hessian each time). The
    # smoothing recursions are causal, so one pass over the whole series with the same parameters holds at t - 1
    # exactly the state a pass over y[0..t-1] ends with; predict(start=t, dynamic=True) forecasts from that state.
    # Checked against ETSModel(y[:t]).smooth(params).forecast(H) at the first and last origin.
    start = time.perf_counter()
    params = best["res"].params
    full = ets_model(y, m, best["damped"]).smooth(params)
    ts = origins(task, every)
    forecasts = {t: np.asarray(full.predict(start=t, end=t + H - 1, dynamic=True)) for t in ts}
    forecast_seconds = time.perf_counter() - start
    check = 0.0
    for t in (ts[0], ts[-1]):
        direct = np.asarray(ets_model(y[:t], m, best["damped"]).smooth(params).forecast(H))
        check = max(check, float(np.max(np.abs(direct - forecasts[t]))))

    res = best["res"]
    fitted = dict(zip(res.model.param_names, (float(p) for p in params)))
    keep = ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
    return dict(config=ets_name(m, best["damped"]),
                params={k: v for k, v in fitted.items() if k in keep},
                aic=best["aic"], converged=best["converged"],
                candidates=[dict(model=ets_name(m, c["damped"]), aic=c["aic"], converged=c["converged"],
                                 warnings=c["warnings"]) for c in candidates],
                max_abs_diff_vs_per_origin_smooth=check,
                fit_seconds=fit_seconds, forecast_seconds=forecast_seconds, **score(task, forecasts))


# ---------------------------------------------------------------- ARIMA (statsmodels SARIMAX)

def regressors(n, total_d, fourier_k, period):
    """Trend columns by total differencing order (0: constant, 1: linear trend, 2: none) and Fourier pairs."""
    idx = np.arange(n, dtype=float)
    cols, names = [], []
    if total_d == 0:
        cols.append(np.ones(n))
        names.append("const")
    elif total_d == 1:
        cols.append(idx)
        names.append("trend")
    for k in range(1, fourier_k + 1):
        cols += [np.sin(2 * np.pi * k * idx / period), np.cos(2 * np.pi * k * idx / period)]
        names += ["sin%d" % k, "cos%d" % k]
    return (np.column_stack(cols) if cols else None), names


def arima_name(order, seasonal, fourier_k, names):
    s = "ARIMA(%d,%d,%d)" % order
    if seasonal is not None and seasonal[3] > 1:
        s += "(%d,%d,%d)[%d]" % seasonal
    if fourier_k:
        s += " + %d Fourier pairs (period %.4g)" % (fourier_k, CO2_FOURIER_PERIOD)
    trend = [x for x in names if x in ("const", "trend")]
    s += " + " + ("mean" if trend == ["const"] else "drift" if trend == ["trend"] else "no trend")
    return s


def renamed(param, names):
    """statsmodels calls numpy exog columns x1, x2, ...; give them the regressor names."""
    if param.startswith("x") and param[1:].isdigit() and int(param[1:]) <= len(names):
        return names[int(param[1:]) - 1]
    return param


def arima(task, every):
    m, H, n = task["m"], task["H"], task["n"]
    y = np.asarray(task["y"], dtype=float)
    n_train = task["n_train"]
    use_fourier = task["series"] == "co2-weekly"
    if use_fourier:
        grid = [((p, d, q), None, k) for d in ARIMA_D for k in FOURIER_K for p in ARIMA_PQ for q in ARIMA_PQ]
        burn = max(ARIMA_D)
    elif m > 1:
        grid = [((p, d, q), (P, D, Q, m), 0) for d in ARIMA_D for (P, D, Q) in SEASONAL_PDQ
                for p in ARIMA_PQ for q in ARIMA_PQ]
        burn = max(ARIMA_D) + m
    else:
        grid = [((p, d, q), None, 0) for d in ARIMA_D for p in ARIMA_PQ for q in ARIMA_PQ]
        burn = max(ARIMA_D)

    start = time.perf_counter()
    candidates, best = [], None
    for order, seasonal, k in grid:
        total_d = order[1] + (seasonal[1] if seasonal else 0)
        X, names = regressors(n, total_d, k, CO2_FOURIER_PERIOD)
        name = arima_name(order, seasonal, k, names)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = SARIMAX(y[:n_train], exog=None if X is None else X[:n_train], order=order,
                                seasonal_order=seasonal or (0, 0, 0, 0), loglikelihood_burn=burn)
                res = model.fit(**SARIMAX_FIT)
            aic = float(res.aic)
            entry = dict(model=name, aic=aic, converged=bool(res.mle_retvals["converged"]),
                         warnings=sorted({w.category.__name__ for w in caught}))
        except Exception as error:  # a candidate that fails is left out of the choice
            candidates.append(dict(model=name, aic=None, error="%s: %s" % (type(error).__name__, error)))
            continue
        candidates.append(entry)
        if math.isfinite(aic) and (best is None or aic < best["aic"]):
            best = dict(entry, order=order, seasonal=seasonal, k=k, X=X, names=names, res=res)
    fit_seconds = time.perf_counter() - start

    # Fixed parameters at every origin: results.apply(y[:t]) reruns the Kalman filter from the start over y[0..t-1]
    # with the fitted parameters (no refit); forecast(H) continues from its last state.
    start = time.perf_counter()
    res, X = best["res"], best["X"]
    forecasts = {}
    for t in origins(task, every):
        if X is None:
            forecasts[t] = np.asarray(res.apply(y[:t]).forecast(H))
        else:
            forecasts[t] = np.asarray(res.apply(y[:t], exog=X[:t]).forecast(H, exog=X[t:t + H]))
    forecast_seconds = time.perf_counter() - start

    ok = [c for c in candidates if c.get("aic") is not None]
    return dict(config=best["model"], order=list(best["order"]),
                seasonal_order=list(best["seasonal"]) if best["seasonal"] else None,
                fourier_pairs=best["k"], regressors=best["names"],
                params={renamed(name, best["names"]): float(p) for name, p in zip(res.model.param_names, res.params)},
                aic=best["aic"], converged=best["converged"], aic_burn=burn,
                candidates_fitted=len(ok), candidates_failed=len(candidates) - len(ok),
                candidates_unconverged=sum(1 for c in ok if not c["converged"]),
                top5=sorted(ok, key=lambda c: c["aic"])[:5],
                fit_seconds=fit_seconds, forecast_seconds=forecast_seconds, **score(task, forecasts))


# ---------------------------------------------------------------- report

def cpu():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu family", "model") and key not in info:
                    info[key] = value.strip()
    except OSError:
        pass
    return dict(model_name=info.get("model name", platform.processor()), family=info.get("cpu family"),
                model=info.get("model"), cores=os.cpu_count())


def print_table(entry):
    print("\n%s  target %s  n=%d  n_train=%d  m=%d  H=%d  origins %d..%d step %d (%d)  MASE scale %.4g" % (
        entry["series"], entry["target"], entry["n"], entry["n_train"], entry["m"], entry["H"],
        entry["origins"]["first"], entry["origins"]["last"], entry["origins"]["step"], entry["origins"]["count"],
        entry["mase_scale"]))
    print("  %-16s %10s %10s %8s %9s  %s" % ("method", "MAE", "RMSE", "MASE", "fit s", "config"))
    for method, r in entry["methods"].items():
        print("  %-16s %10.4f %10.4f %8.4f %9.2f  %s" % (method, r["MAE"], r["RMSE"], r["MASE"], r["fit_seconds"],
                                                         r["config"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=1, help="use every K-th forecast origin (default 1: all)")
    parser.add_argument("--out", help="JSON record (default bench/results/forecast-baselines.json)")
    args = parser.parse_args()
    if args.every < 1:
        parser.error("--every must be at least 1")

    wall = time.perf_counter()
    if STATSMODELS_ERROR:
        print("forecast_baselines.py: statsmodels is not importable here (%s)." % STATSMODELS_ERROR)
        print("  Install it (Debian 12, statsmodels 0.13.5): %s" % INSTALL)
        print("  and run this script with Debian's interpreter: /usr/bin/python3 bench/forecast_baselines.py")
        print("  Reporting the seasonal naive only.")
    print("origin step k = %d (the same for every method)" % args.every)

    results = []
    for task in load_series():
        ts = origins(task, args.every)
        entry = dict(series=task["series"], file=task["file"], target=task["target"], first=task["first"],
                     last=task["last"], n=task["n"], n_train=task["n_train"], m=task["m"], H=task["H"],
                     missing_filled=sum(1 for ok in task["observed"] if not ok),
                     missing_in_test=sum(1 for ok in task["observed"][task["n_train"]:] if not ok),
                     origins=dict(first=ts[0], last=ts[-1], step=args.every, count=len(ts)),
                     mase_scale=task["scale"], methods={})
        entry["methods"]["seasonal_naive"] = seasonal_naive(task, args.every)
        if not STATSMODELS_ERROR:
            entry["methods"]["holt_winters"] = holt_winters(task, args.every)
            entry["methods"]["arima"] = arima(task, args.every)
        print_table(entry)
        results.append(entry)
    elapsed = time.perf_counter() - wall

    versions = dict(python=platform.python_version())
    if not STATSMODELS_ERROR:
        import scipy
        versions.update(numpy=np.__version__, scipy=scipy.__version__, statsmodels=statsmodels.__version__)
    record = dict(
        meta=dict(date=datetime.date.today().isoformat(), cpu=cpu(), versions=versions,
                  statsmodels_available=not STATSMODELS_ERROR, origin_step=args.every,
                  wall_seconds=round(elapsed, 1)),
        protocol=dict(
            split="n_train = floor(0.8 n) = (4 n) div 5; train y[0..n_train-1], test the rest; no shuffling",
            origins="t = n_train, n_train + k, ..., <= n - H; forecast y[t..t+H-1] from y[0..t-1]",
            refit="parameters fitted once on the training part; state rerun over y[0..t-1] with fixed parameters",
            missing="empty cells filled by linear interpolation in time between the nearest observed neighbours, "
                    "before anything else; errors only at observed targets",
            metrics="MAE, RMSE over all (origin, h) pairs; MAE_by_h for h = 1..H; MASE = MAE / scale, scale = "
                    "mean |y[i] - y[i-m]| over i = m..n_train-1",
            seasonal_naive="yhat[t+h-1] = y[t+h-1-m*ceil(h/m)]"),
        results=results)
    out = args.out or (None if STATSMODELS_ERROR else DEFAULT_OUT)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        print("\nwrote %s" % (os.path.relpath(out, ROOT) if args.out is None else out))
    else:
        print("\nno JSON written (statsmodels missing; pass --out PATH to write the seasonal naive record)")
    print("wall time %.1f s" % elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
