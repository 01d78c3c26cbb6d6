"""Builds the small ONNX models that check score.mjs and the two runtimes, with their inputs and numpy references.

    python3 make_models.py OUT_DIR

writes, for each case NAME, OUT_DIR/NAME.onnx, OUT_DIR/NAME.inputs.json and (where numpy gives one)
OUT_DIR/NAME.expected.json, all in score.mjs's JSON tensor format. Needs the onnx and numpy Python packages
(Debian: python3-onnx, python3-numpy).

Cases:
  ops           opset 12 + ai.onnx.ml 2, IR 7: LSTM, GRU (linear_before_reset=1), Scan (gated step: MatMul, Sigmoid,
                Tanh, Mul, Sub, Add), Loop, ArgMax, Gather, Where, Cast, LabelEncoder (string -> int64).
  scan0         the same Scan with a scan input whose leading (sequence) dimension is 0.
  loop0         a Loop whose trip count is 0.
  lstm0         an LSTM over a sequence of length 0.
  tokenizer     com.microsoft Tokenizer (mark=0, mincharnum=1, pad_value="#", separators=[""]): characters.
  tokenizer_pkg the Tokenizer as the package exports it: (N, L) words, pad_value "\u0000<pad>", then a LabelEncoder
                from characters to ids (0 padding, 1 unknown); both the strings and the ids are outputs.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSETS = [helper.make_opsetid("", 12), helper.make_opsetid("ai.onnx.ml", 2)]
rng = np.random.default_rng(7)


def f32(*shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def init(name, arr):
    return numpy_helper.from_array(arr, name)


def tjson(arr, type_=None):
    arr = np.asarray(arr)
    if type_ is None:
        type_ = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64", np.dtype(bool): "bool"}.get(arr.dtype, "string")
    data = arr.reshape(-1).tolist()
    if type_ == "bool":
        data = [1 if v else 0 for v in data]
    return {"type": type_, "dims": list(arr.shape), "data": data}


def save(out, name, model, inputs, expected=None):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name + ".onnx"))
    with open(os.path.join(out, name + ".inputs.json"), "w") as f:
        json.dump(inputs, f)
    if expected is not None:
        with open(os.path.join(out, name + ".expected.json"), "w") as f:
            json.dump(expected, f)


sig = lambda v: 1.0 / (1.0 + np.exp(-v))

# ------------------------------------------------------------------ weights shared by the cases
T, B, I = 4, 2, 3
H_LSTM, H_GRU, H_SCAN = 5, 4, 4
W_l, R_l, B_l = f32(1, 4 * H_LSTM, I), f32(1, 4 * H_LSTM, H_LSTM), f32(1, 8 * H_LSTM)
W_g, R_g, B_g = f32(1, 3 * H_GRU, I), f32(1, 3 * H_GRU, H_GRU), f32(1, 6 * H_GRU)
Wz, Uz, Wc, Uc = f32(I, H_SCAN), f32(H_SCAN, H_SCAN), f32(I, H_SCAN), f32(H_SCAN, H_SCAN)
EMB = f32(6, 3)


def np_lstm(x):
    H = H_LSTM
    w, r, b = W_l[0], R_l[0], B_l[0]
    h = np.zeros((x.shape[1], H), np.float32)
    c = np.zeros_like(h)
    ys = []
    for t in range(x.shape[0]):
        g = x[t] @ w.T + h @ r.T + b[: 4 * H] + b[4 * H :]
        i, o, f, cc = sig(g[:, :H]), sig(g[:, H : 2 * H]), sig(g[:, 2 * H : 3 * H]), np.tanh(g[:, 3 * H :])
        c = f * c + i * cc
        h = o * np.tanh(c)
        ys.append(h)
    Y = np.stack(ys)[:, None] if ys else np.zeros((0, 1, x.shape[1], H), np.float32)
    return Y.astype(np.float32), h[None].astype(np.float32)


def np_gru(x):
    H = H_GRU
    w, r, b = W_g[0], R_g[0], B_g[0]
    wb, rb = b[: 3 * H], b[3 * H :]
    h = np.zeros((x.shape[1], H), np.float32)
    ys = []
    for t in range(x.shape[0]):
        xw = x[t] @ w.T + wb
        hr = h @ r.T
        z = sig(xw[:, :H] + hr[:, :H] + rb[:H])
        rr = sig(xw[:, H : 2 * H] + hr[:, H : 2 * H] + rb[H : 2 * H])
        hh = np.tanh(xw[:, 2 * H :] + rr * (hr[:, 2 * H :] + rb[2 * H :]))  # linear_before_reset = 1
        h = (1 - z) * hh + z * h
        ys.append(h)
    return np.stack(ys)[:, None].astype(np.float32), h[None].astype(np.float32)


def np_scan(h0, x):
    h = h0
    ys = []
    for t in range(x.shape[0]):
        z = sig(x[t] @ Wz + h @ Uz)
        c = np.tanh(x[t] @ Wc + h @ Uc)
        h = z * h + (1 - z) * c
        ys.append(h)
    Y = np.stack(ys) if ys else np.zeros((0,) + h0.shape, np.float32)
    return h.astype(np.float32), Y.astype(np.float32)


def scan_body():
    """Scan body: state h [B,4], scan input x_t [B,3] -> new state, scan output. Weights come from the outer scope."""
    n = [
        helper.make_node("MatMul", ["x_t", "Wz"], ["xz"]),
        helper.make_node("MatMul", ["h_in", "Uz"], ["hz"]),
        helper.make_node("Add", ["xz", "hz"], ["zs"]),
        helper.make_node("Sigmoid", ["zs"], ["z"]),
        helper.make_node("MatMul", ["x_t", "Wc"], ["xc"]),
        helper.make_node("MatMul", ["h_in", "Uc"], ["hc"]),
        helper.make_node("Add", ["xc", "hc"], ["cs"]),
        helper.make_node("Tanh", ["cs"], ["c"]),
        helper.make_node("Mul", ["z", "h_in"], ["zh"]),
        helper.make_node("Sub", ["one", "z"], ["omz"]),
        helper.make_node("Mul", ["omz", "c"], ["omzc"]),
        helper.make_node("Add", ["zh", "omzc"], ["h_out"]),
        helper.make_node("Identity", ["h_out"], ["y_t"]),
    ]
    return helper.make_graph(
        n,
        "scan_body",
        [helper.make_tensor_value_info("h_in", TensorProto.FLOAT, ["B", H_SCAN]),
         helper.make_tensor_value_info("x_t", TensorProto.FLOAT, ["B", I])],
        [helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["B", H_SCAN]),
         helper.make_tensor_value_info("y_t", TensorProto.FLOAT, ["B", H_SCAN])],
    )


def scan_inits():
    return [init("Wz", Wz), init("Uz", Uz), init("Wc", Wc), init("Uc", Uc), init("one", np.array(1.0, np.float32))]


def loop_body():
    """Loop body: v <- v * 0.5 + float(iter); scan output v."""
    n = [
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        helper.make_node("Cast", ["iter"], ["iter_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["v_in", "half"], ["vh"]),
        helper.make_node("Add", ["vh", "iter_f"], ["v_out"]),
        helper.make_node("Identity", ["v_out"], ["v_scan"]),
    ]
    return helper.make_graph(
        n,
        "loop_body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["B", H_GRU])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["B", H_GRU]),
         helper.make_tensor_value_info("v_scan", TensorProto.FLOAT, ["B", H_GRU])],
    )


def np_loop(v, m):
    vs = []
    for i in range(m):
        v = (v * np.float32(0.5) + np.float32(i)).astype(np.float32)
        vs.append(v)
    return v, (np.stack(vs) if vs else np.zeros((0,) + v.shape, np.float32))


def make_model(nodes, name, inputs, outputs, inits, opsets=OPSETS):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=opsets, producer_name="Microsoft.ML.Rnn.Tests.Onnx.js")
    m.ir_version = 7
    return m


vi = helper.make_tensor_value_info


def case_ops(out):
    x = f32(T, B, I)
    idx = np.array([5, 0], np.int64)
    labels = np.array(["b", "zz", "a"], object)
    nodes = [
        helper.make_node("LSTM", ["x", "W_l", "R_l", "B_l"], ["lstm_Y", "lstm_Yh"], hidden_size=H_LSTM),
        helper.make_node("GRU", ["x", "W_g", "R_g", "B_g"], ["gru_Y", "gru_Yh"], hidden_size=H_GRU, linear_before_reset=1),
        helper.make_node("Scan", ["h0", "x"], ["scan_h", "scan_Y"], num_scan_inputs=1, body=scan_body()),
        helper.make_node("Squeeze", ["gru_Yh"], ["gru_h"], axes=[0]),
        helper.make_node("Loop", ["trip", "true", "gru_h"], ["loop_v", "loop_Y"], body=loop_body()),
        helper.make_node("ArgMax", ["scan_h"], ["argmax"], axis=1, keepdims=0),
        helper.make_node("Gather", ["EMB", "idx"], ["gather"], axis=0),
        helper.make_node("Greater", ["scan_h", "zero"], ["pos"]),
        helper.make_node("Neg", ["scan_h"], ["neg"]),
        helper.make_node("Where", ["pos", "scan_h", "neg"], ["where"]),
        helper.make_node("Cast", ["argmax"], ["cast"], to=TensorProto.FLOAT),
        helper.make_node("LabelEncoder", ["labels"], ["label_ids"], domain="ai.onnx.ml",
                         keys_strings=["a", "b", "c"], values_int64s=[1, 2, 3], default_int64=-1),
    ]
    inits = [init("W_l", W_l), init("R_l", R_l), init("B_l", B_l), init("W_g", W_g), init("R_g", R_g), init("B_g", B_g),
             init("h0", np.zeros((B, H_SCAN), np.float32)), init("trip", np.array(3, np.int64)),
             init("true", np.array(True)), init("half", np.array(0.5, np.float32)), init("EMB", EMB), init("zero", np.array(0.0, np.float32))] + scan_inits()
    F = TensorProto.FLOAT
    m = make_model(nodes, "ops",
                   [vi("x", F, ["T", B, I]), vi("idx", TensorProto.INT64, [2]), vi("labels", TensorProto.STRING, [3])],
                   [vi("lstm_Y", F, ['lstm_Y_0', 'lstm_Y_1', 'lstm_Y_2', 'lstm_Y_3']), vi("lstm_Yh", F, ['lstm_Yh_0', 'lstm_Yh_1', 'lstm_Yh_2']), vi("gru_Y", F, ['gru_Y_0', 'gru_Y_1', 'gru_Y_2', 'gru_Y_3']), vi("gru_Yh", F, ['gru_Yh_0', 'gru_Yh_1', 'gru_Yh_2']),
                    vi("scan_h", F, ['scan_h_0', 'scan_h_1']), vi("scan_Y", F, ['scan_Y_0', 'scan_Y_1', 'scan_Y_2']), vi("loop_v", F, ['loop_v_0', 'loop_v_1']), vi("loop_Y", F, ['loop_Y_0', 'loop_Y_1', 'loop_Y_2']),
                    vi("argmax", TensorProto.INT64, ['argmax_0']), vi("gather", F, ['gather_0', 'gather_1']), vi("where", F, ['where_0', 'where_1']),
                    vi("cast", F, ['cast_0']), vi("label_ids", TensorProto.INT64, ['label_ids_0']), vi("pos", TensorProto.BOOL, ['pos_0', 'pos_1'])],
                   inits)
    lY, lYh = np_lstm(x)
    gY, gYh = np_gru(x)
    sh, sY = np_scan(np.zeros((B, H_SCAN), np.float32), x)
    lv, lYl = np_loop(gYh[0], 3)
    am = np.argmax(sh, axis=1).astype(np.int64)
    exp = {
        "lstm_Y": tjson(lY), "lstm_Yh": tjson(lYh), "gru_Y": tjson(gY), "gru_Yh": tjson(gYh),
        "scan_h": tjson(sh), "scan_Y": tjson(sY), "loop_v": tjson(lv), "loop_Y": tjson(lYl),
        "argmax": tjson(am), "gather": tjson(EMB[idx]), "where": tjson(np.abs(sh)), "cast": tjson(am.astype(np.float32)),
        "label_ids": tjson(np.array([2, -1, 1], np.int64)), "pos": tjson(sh > 0),
    }
    save(out, "ops", m, {"x": tjson(x), "idx": tjson(idx), "labels": tjson(labels, "string")}, exp)


def case_scan0(out):
    x = np.zeros((0, B, I), np.float32)
    h0 = f32(B, H_SCAN)
    nodes = [helper.make_node("Scan", ["h0", "x"], ["scan_h", "scan_Y"], num_scan_inputs=1, body=scan_body())]
    F = TensorProto.FLOAT
    m = make_model(nodes, "scan0", [vi("h0", F, [B, H_SCAN]), vi("x", F, ["T", B, I])],
                   [vi("scan_h", F, ['scan_h_0', 'scan_h_1']), vi("scan_Y", F, ['scan_Y_0', 'scan_Y_1', 'scan_Y_2'])], scan_inits())
    sh, sY = np_scan(h0, x)
    save(out, "scan0", m, {"h0": tjson(h0), "x": tjson(x)}, {"scan_h": tjson(sh), "scan_Y": tjson(sY)})


def case_loop0(out):
    v = f32(B, H_GRU)
    nodes = [helper.make_node("Loop", ["trip", "true", "v"], ["loop_v", "loop_Y"], body=loop_body())]
    F = TensorProto.FLOAT
    m = make_model(nodes, "loop0", [vi("v", F, [B, H_GRU]), vi("trip", TensorProto.INT64, [])],
                   [vi("loop_v", F, ['loop_v_0', 'loop_v_1']), vi("loop_Y", F, ['loop_Y_0', 'loop_Y_1', 'loop_Y_2'])],
                   [init("true", np.array(True)), init("half", np.array(0.5, np.float32))])
    lv, lY = np_loop(v, 0)
    save(out, "loop0", m, {"v": tjson(v), "trip": {"type": "int64", "dims": [], "data": [0]}},
         {"loop_v": tjson(lv), "loop_Y": tjson(lY)})


def case_lstm0(out):
    x = np.zeros((0, B, I), np.float32)
    nodes = [helper.make_node("LSTM", ["x", "W_l", "R_l", "B_l"], ["lstm_Y", "lstm_Yh"], hidden_size=H_LSTM)]
    F = TensorProto.FLOAT
    m = make_model(nodes, "lstm0", [vi("x", F, ["T", B, I])], [vi("lstm_Y", F, ['lstm_Y_0', 'lstm_Y_1', 'lstm_Y_2', 'lstm_Y_3']), vi("lstm_Yh", F, ['lstm_Yh_0', 'lstm_Yh_1', 'lstm_Yh_2'])],
                   [init("W_l", W_l), init("R_l", R_l), init("B_l", B_l)])
    save(out, "lstm0", m, {"x": tjson(x)})


def case_tokenizer(out):
    text = np.array(["héllo", "ab", ""], object)
    nodes = [helper.make_node("Tokenizer", ["text"], ["tokens"], domain="com.microsoft",
                              mark=0, mincharnum=1, pad_value="#", separators=[""])]
    g = helper.make_graph(nodes, "tokenizer", [vi("text", TensorProto.STRING, ["N"])],
                          [vi("tokens", TensorProto.STRING, ['tokens_0', 'tokens_1'])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 12), helper.make_opsetid("com.microsoft", 1)],
                          producer_name="Microsoft.ML.Rnn.Tests.Onnx.js")
    m.ir_version = 7
    # The checker does not know com.microsoft ops; save without it.
    onnx.save(m, os.path.join(out, "tokenizer.onnx"))
    with open(os.path.join(out, "tokenizer.inputs.json"), "w") as f:
        json.dump({"text": tjson(text, "string")}, f)
    width = max(len(s) for s in text)
    toks = [list(s) + ["#"] * (width - len(s)) for s in text]
    with open(os.path.join(out, "tokenizer.expected.json"), "w") as f:
        json.dump({"tokens": {"type": "string", "dims": [len(text), width], "data": sum(toks, [])}}, f)


def case_tokenizer_pkg(out):
    pad = "\u0000<pad>"
    words = np.array([["héllo", "ab", ""], ["x", "\U0001F600y", "zz"]], object)
    chars = ["a", "b", "e", "h", "l", "o", "x", "y", "\u00e9"]
    nodes = [
        helper.make_node("Tokenizer", ["words"], ["characters"], domain="com.microsoft",
                         mark=0, mincharnum=1, pad_value=pad, separators=[""]),
        helper.make_node("LabelEncoder", ["characters"], ["character_ids"], domain="ai.onnx.ml",
                         keys_strings=chars + [pad], values_int64s=list(range(2, 2 + len(chars))) + [0], default_int64=1),
    ]
    g = helper.make_graph(nodes, "tokenizer_pkg", [vi("words", TensorProto.STRING, ["N", "L"])],
                          [vi("characters", TensorProto.STRING, ["N", "L", "W"]),
                           vi("character_ids", TensorProto.INT64, ["N", "L", "W"])])
    m = helper.make_model(g, opset_imports=OPSETS + [helper.make_opsetid("com.microsoft", 1)],
                          producer_name="Microsoft.ML.Rnn.Tests.Onnx.js")
    m.ir_version = 7
    onnx.save(m, os.path.join(out, "tokenizer_pkg.onnx"))
    with open(os.path.join(out, "tokenizer_pkg.inputs.json"), "w") as f:
        json.dump({"words": tjson(words, "string")}, f)
    width = max(len(w) for w in words.reshape(-1))  # code points, as the tokenizer splits UTF-8
    split = [list(w) + [pad] * (width - len(w)) for w in words.reshape(-1)]
    ids = [[0 if c == pad else (chars.index(c) + 2 if c in chars else 1) for c in t] for t in split]
    dims = list(words.shape) + [width]
    with open(os.path.join(out, "tokenizer_pkg.expected.json"), "w") as f:
        json.dump({"characters": {"type": "string", "dims": dims, "data": sum(split, [])},
                   "character_ids": {"type": "int64", "dims": dims, "data": sum(ids, [])}}, f)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for case in (case_ops, case_scan0, case_loop0, case_lstm0, case_tokenizer, case_tokenizer_pkg):
        case(out)
    print("models written to", out)
