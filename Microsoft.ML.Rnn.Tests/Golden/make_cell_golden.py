#!/usr/bin/python3
"""Golden values for the recurrent cells of Microsoft.ML.Rnn.Core.

An independent NumPy (float64) implementation of every cell and variant, with weights drawn from a fixed
numpy RandomState, run for a few steps on a small batch. Writes cells.json next to this script; the C# tests
(Microsoft.ML.Rnn.Tests/Core/Cells/GoldenCellTests.cs) load the weights into the cells and compare every step.

The PyTorch-compatible cells are also checked against torch's nn.RNNCell / GRUCell / LSTMCell (and nn.LSTM with
proj_size) as a sanity assertion of this reference. Run with Debian's /usr/bin/python3 (numpy + torch 1.13):

    /usr/bin/python3 Microsoft.ML.Rnn.Tests/Golden/make_cell_golden.py
"""
import json
import os

import numpy as np

N, H_IN, H, STEPS = 2, 3, 4, 3


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_norm(x, gain, shift, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return gain * (x - mean) / np.sqrt(var + eps) + shift


def rnn_step(p, act, x, state):
    (h,) = state
    pre = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    h2 = np.tanh(pre) if act == "tanh" else np.maximum(pre, 0.0)
    return h2, [h2]


def gru_step(p, reset_after, x, state):
    (h,) = state
    gi = x @ p["weight_ih"].T + p["bias_ih"]
    w_r, w_z, w_n = np.split(p["weight_hh"], 3, axis=0)
    b_r, b_z, b_n = np.split(p["bias_hh"], 3)
    i_r, i_z, i_n = np.split(gi, 3, axis=1)
    r = sigmoid(i_r + h @ w_r.T + b_r)
    z = sigmoid(i_z + h @ w_z.T + b_z)
    if reset_after:
        n = np.tanh(i_n + r * (h @ w_n.T + b_n))
    else:
        n = np.tanh(i_n + (r * h) @ w_n.T + b_n)
    h2 = (1.0 - z) * n + z * h
    return h2, [h2]


def lstm_step(p, o, x, state):
    c, h = state
    gates = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, f, g, og = np.split(gates, 4, axis=1)
    if o.get("use_peepholes"):
        i = i + p["weight_ci"] * c
        f = f + p["weight_cf"] * c
    c2 = sigmoid(f + o.get("forget_bias", 0.0)) * c + sigmoid(i) * np.tanh(g)
    if o.get("cell_clip") is not None:
        c2 = np.clip(c2, -o["cell_clip"], o["cell_clip"])
    if o.get("use_peepholes"):
        og = og + p["weight_co"] * c2
    m = sigmoid(og) * np.tanh(c2)
    if o.get("num_proj") is not None:
        m = m @ p["weight_proj"].T
        if o.get("proj_clip") is not None:
            m = np.clip(m, -o["proj_clip"], o["proj_clip"])
    return m, [c2, m]


def cifg_step(p, x, state):
    c, h = state
    gates = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, g, og = np.split(gates, 3, axis=1)
    i = sigmoid(i)
    f = 1.0 - i
    c2 = f * c + i * np.tanh(g)
    h2 = sigmoid(og) * np.tanh(c2)
    return h2, [c2, h2]


def ln_lstm_step(p, o, x, state):
    c, h = state
    gates = x @ p["weight_ih"].T + h @ p["weight_hh"].T
    parts = np.split(gates, 4, axis=1)
    normed = [layer_norm(parts[k], p["gate_norm_weight"][k], p["gate_norm_bias"][k], o["epsilon"]) for k in range(4)]
    i, f, g, og = normed
    c2 = sigmoid(f + o["forget_bias"]) * c + sigmoid(i) * np.tanh(g)
    c2 = layer_norm(c2, p["cell_norm_weight"], p["cell_norm_bias"], o["epsilon"])
    h2 = sigmoid(og) * np.tanh(c2)
    return h2, [c2, h2]


def registry_kind(cell, o):
    """The cell kind as the package's registry names it (RnnCellKind: name and text options), so that the C# test
    builds every case through the registry, as the components do."""
    number = lambda v: repr(float(v))
    if cell == "rnn":
        return "simple_rnn", ({"activation": "Relu"} if o["activation"] == "relu" else {})
    if cell == "gru":
        return "gru", ({} if o["reset_after"] else {"reset_gate": "BeforeRecurrentMatmul"})
    if cell == "lstm":
        names = {"forget_bias": number, "use_peepholes": lambda v: "true", "cell_clip": number,
                 "num_proj": lambda v: str(int(v)), "proj_clip": number}
        return "lstm", {k: names[k](v) for k, v in o.items() if v not in (None, False, 0)}
    if cell == "cifg":
        return "cifg_lstm", {}
    assert cell == "layernorm_lstm" and o["epsilon"] == 1e-5   # the registry's layer-norm cell has PyTorch's epsilon
    return "layer_norm_lstm", ({} if o["forget_bias"] == 1.0 else {"forget_bias": number(o["forget_bias"])})


def make_case(name, cell, options, rs, weight_scale=0.6):
    o = dict(options)
    out_size = o.get("num_proj") or H
    gates = {"rnn": 1, "gru": 3, "lstm": 4, "cifg": 3, "layernorm_lstm": 4}[cell]
    u = lambda *shape: rs.uniform(-weight_scale, weight_scale, size=shape)
    p = {"weight_ih": u(gates * H, H_IN), "weight_hh": u(gates * H, out_size if cell == "lstm" else H)}
    if cell != "layernorm_lstm":
        p["bias_ih"] = u(gates * H)
        p["bias_hh"] = u(gates * H)
    else:
        p["gate_norm_weight"] = 1.0 + u(4, H)
        p["gate_norm_bias"] = u(4, H)
        p["cell_norm_weight"] = 1.0 + u(H)
        p["cell_norm_bias"] = u(H)
    if o.get("use_peepholes"):
        p["weight_ci"], p["weight_cf"], p["weight_co"] = u(H), u(H), u(H)
    if o.get("num_proj") is not None:
        p["weight_proj"] = u(o["num_proj"], H)

    state_sizes = [H] if cell in ("rnn", "gru") else [H, out_size]
    state = [rs.uniform(-1.0, 1.0, size=(N, s)) for s in state_sizes]
    inputs = [rs.uniform(-1.5, 1.5, size=(N, H_IN)) for _ in range(STEPS)]

    step = {
        "rnn": lambda x, s: rnn_step(p, o["activation"], x, s),
        "gru": lambda x, s: gru_step(p, o["reset_after"], x, s),
        "lstm": lambda x, s: lstm_step(p, o, x, s),
        "cifg": lambda x, s: cifg_step(p, x, s),
        "layernorm_lstm": lambda x, s: ln_lstm_step(p, o, x, s),
    }[cell]
    steps, s = [], state
    for x in inputs:
        out, s = step(x, s)
        steps.append({"output": out, "state": s})

    torch_check(name, cell, o, p, inputs, state, steps)
    flat = lambda a: [float(v) for v in np.asarray(a).ravel()]
    return {
        "name": name, "cell": cell, "options": o, "kind": registry_kind(cell, o)[0], "kind_options": registry_kind(cell, o)[1],
        "batch": N, "input_size": H_IN, "hidden_size": H,
        "params": {k: {"shape": list(v.shape), "values": flat(v)} for k, v in p.items()},
        "inputs": [flat(x) for x in inputs],
        "initial_state": [flat(t) for t in state],
        "steps": [{"output": flat(st["output"]), "state": [flat(t) for t in st["state"]]} for st in steps],
    }, steps


def torch_check(name, cell, o, p, inputs, state, steps):
    """Sanity assertion of the NumPy reference against torch 1.13 where torch has the same cell."""
    try:
        import torch
    except ImportError:
        raise SystemExit("run with /usr/bin/python3 (numpy + torch 1.13)")
    t = lambda a: torch.tensor(a, dtype=torch.float64)
    plain_lstm = cell == "lstm" and not o.get("use_peepholes") and o.get("cell_clip") is None \
        and o.get("forget_bias", 0.0) == 0.0 and o.get("proj_clip") is None
    if cell == "rnn":
        m = torch.nn.RNNCell(H_IN, H, nonlinearity=o["activation"])
    elif cell == "gru" and o["reset_after"]:
        m = torch.nn.GRUCell(H_IN, H)
    elif plain_lstm and o.get("num_proj") is None:
        m = torch.nn.LSTMCell(H_IN, H)
    elif plain_lstm:
        m = torch.nn.LSTM(H_IN, H, proj_size=o["num_proj"], batch_first=True)
    else:
        return
    m = m.double()
    with torch.no_grad():
        if isinstance(m, torch.nn.LSTM):
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(m, k + "_l0").copy_(t(p[k]))
            m.weight_hr_l0.copy_(t(p["weight_proj"]))
            x = torch.stack([t(v) for v in inputs], dim=1)
            out, (hn, cn) = m(x, (t(state[1])[None], t(state[0])[None]))
            for k, st in enumerate(steps):
                assert np.allclose(out[:, k].numpy(), st["output"], atol=1e-12), name
            assert np.allclose(cn[0].numpy(), steps[-1]["state"][0], atol=1e-12), name
            print(f"{name}: matches torch.nn.LSTM(proj_size)")
            return
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(m, k).copy_(t(p[k]))
        if cell == "lstm":
            hx = (t(state[1]), t(state[0]))
        else:
            hx = t(state[0])
        for x, st in zip(inputs, steps):
            hx = m(t(x), hx)
            if cell == "lstm":
                assert np.allclose(hx[0].numpy(), st["output"], atol=1e-12), name
                assert np.allclose(hx[1].numpy(), st["state"][0], atol=1e-12), name
            else:
                assert np.allclose(hx.numpy(), st["output"], atol=1e-12), name
    print(f"{name}: matches torch {type(m).__name__}")


def main():
    rs = np.random.RandomState(20261101)
    specs = [
        ("rnn_tanh", "rnn", {"activation": "tanh"}),
        ("rnn_relu", "rnn", {"activation": "relu"}),
        ("gru_reset_after", "gru", {"reset_after": True}),
        ("gru_reset_before", "gru", {"reset_after": False}),
        ("lstm_default", "lstm", {}),
        ("lstm_forget_bias", "lstm", {"forget_bias": 1.0}),
        ("lstm_peepholes", "lstm", {"use_peepholes": True}),
        ("lstm_cell_clip", "lstm", {"cell_clip": 0.25}),
        ("lstm_proj", "lstm", {"num_proj": 3}),
        ("lstm_proj_clip", "lstm", {"num_proj": 3, "proj_clip": 0.1}),
        ("lstm_all_options", "lstm",
         {"forget_bias": 1.0, "use_peepholes": True, "cell_clip": 0.3, "num_proj": 3, "proj_clip": 0.15}),
        ("cifg", "cifg", {}),
        ("layernorm_lstm", "layernorm_lstm", {"forget_bias": 1.0, "epsilon": 1e-5}),
    ]
    cases = []
    gru_outputs = {}
    for name, cell, options in specs:
        case, steps = make_case(name, cell, options, rs)
        cases.append(case)
        if cell == "gru":
            gru_outputs[name] = steps[-1]["output"]
        # Clip cases must actually clip, or they test nothing.
        if "cell_clip" in options:
            assert any(np.abs(st["state"][0]).max() >= options["cell_clip"] - 1e-12 for st in steps), name
        if "proj_clip" in options:
            assert any(np.abs(st["output"]).max() >= options["proj_clip"] - 1e-12 for st in steps), name
    # The two GRU variants must disagree on these weights, or the "before" case could not catch a swap.
    assert not np.allclose(gru_outputs["gru_reset_after"], gru_outputs["gru_reset_before"], atol=1e-3)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cells.json")
    with open(path, "w") as fh:
        json.dump({"generator": "make_cell_golden.py", "cases": cases}, fh, indent=1)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
