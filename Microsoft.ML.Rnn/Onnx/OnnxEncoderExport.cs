using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Writes a <see cref="SequenceEncoder"/> as ONNX: the embedding (or the Single steps), each layer as ONNX's own
/// <c>LSTM</c>, <c>GRU</c> or <c>RNN</c> operator (both directions of a layer in one node) where it computes what the
/// cell computes, otherwise as a <c>Scan</c> over the cell's step (<see cref="OnnxCellScan"/>), and the pooled vector.
/// </summary>
/// <remarks>
/// One row of an ML.NET column is one whole sequence, so every sequence of an exported batch has all its L steps
/// (ONNX Runtime batches rows of one length; <c>ApplyOnnxModel</c> scores a row at a time) and no <c>sequence_lens</c>
/// is given. Each cell says which operator computes it, with its weights in ONNX's gate order
/// (<see cref="GatedRnnCell.OnnxOperator"/>), and writes its own step for the <c>Scan</c> (<see cref="IOnnxStepCell"/>);
/// a cell that does neither fails with <see cref="NotSupportedException"/> naming the column and the cell, rather than
/// writing a model that scores differently.
/// </remarks>
internal static class OnnxEncoderExport
{
    private static readonly AsyncLocal<bool> ScanOnly = new();

    /// <summary>
    /// Writes every layer as a <c>Scan</c>, even where ONNX's operator applies: for tests of the cells' ONNX steps
    /// against the operators, and for the benchmark that measures the two forms.
    /// </summary>
    internal static bool AlwaysScan { get => ScanOnly.Value; set => ScanOnly.Value = value; }

    /// <summary>What the encoder computes for <paramref name="input"/>: every step's outputs (L, N, D*H) and the final outputs (N, D*H).</summary>
    public static (string Outputs, string Final) Write(OnnxGraphWriter g, SequenceEncoder encoder, FeatureEncoding features, string input, string component)
        => Layers(g, encoder, LayerInputs(g, encoder, features, input, component), component, features.Name);

    /// <summary>
    /// As <see cref="Write"/>, from the values the component reads from a row (<see cref="ComponentOnnxModel"/>'s
    /// inputs): <paramref name="input"/> is the Single steps (N, L*F), or the zero-based key or word ids (N, L), with
    /// <paramref name="characters"/> (N, L, 20) character ids when the encoder reads characters.
    /// </summary>
    public static (string Outputs, string Final) WriteFromRowValues(OnnxGraphWriter g, SequenceEncoder encoder, FeatureEncoding features,
        string input, string? characters, string component)
    {
        string batchMajor = features.Kind switch
        {
            SequenceItemKind.Singles => g.Reshape(input, [0, -1, features.FeaturesPerStep], "steps"),
            SequenceItemKind.Keys => g.Apply("Gather", "embedded", n => n.AddAttribute("axis", 0L), g.Parameter(encoder, "embedding.weight"), input),
            _ => OnnxTokenExport.EmbedIds(g, encoder, input, characters),
        };
        return Layers(g, encoder, g.Transpose(batchMajor, [1, 0, 2], "time_major"), component, features.Name);
    }

    /// <summary>The encoder's layers over <paramref name="x"/> (L, N, I).</summary>
    private static (string Outputs, string Final) Layers(OnnxGraphWriter g, SequenceEncoder encoder, string x, string component, string column)
    {
        var cells = encoder.Cells;
        if (cells.Backward is null)
            return Stack(g, cells.Forward, x, "forward", component, column);
        if (encoder.Options.Stacking == BidirectionalStacking.PerDirection)
        {
            var (forward, forwardFinal) = Stack(g, cells.Forward, x, "forward", component, column);
            var (backward, backwardFinal) = Stack(g, cells.Backward, x, "reverse", component, column);
            return (g.Apply("Concat", "outputs", n => n.AddAttribute("axis", 2L), forward, backward),
                    g.Apply("Concat", "final", n => n.AddAttribute("axis", 1L), forwardFinal, backwardFinal));
        }
        string final = "";
        for (int layer = 0; layer < cells.Forward.Count; layer++)
            (x, final) = Layer(g, [cells.Forward[layer], cells.Backward[layer]], x, "bidirectional", $"layer{layer}", component, column);
        return (x, final);
    }

    /// <summary>
    /// (N, D*H) pooled per <paramref name="pooling"/> from what <see cref="Write"/> returned. A row of no steps pools to
    /// zeros, as in the component: the final outputs are the zero initial state and ONNX Runtime's mean over no steps is 0,
    /// but its maximum over no steps is -infinity, replaced here.
    /// </summary>
    public static string Pool(OnnxGraphWriter g, (string Outputs, string Final) encoded, SequencePooling pooling)
    {
        switch (pooling)
        {
            case SequencePooling.LastState:
                return encoded.Final;
            case SequencePooling.Mean:
                return g.Reduce("ReduceMean", encoded.Outputs, 0, keepDimensions: false, "pooled");
            case SequencePooling.Max:
                string max = g.Reduce("ReduceMax", encoded.Outputs, 0, keepDimensions: false, "pooled_max");
                string none = g.Apply("IsInf", "no_steps", n => { n.AddAttribute("detect_positive", 0L); n.AddAttribute("detect_negative", 1L); }, max);
                return g.Apply("Where", "pooled", none, g.Float(0f, "zero"), max);
            default:
                throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "Unknown pooling.");
        }
    }

    /// <summary>(L, N, E) embedded keys or words (with their character features), or (L, N, F) Single steps, time-major as ONNX's recurrent operators read them.</summary>
    private static string LayerInputs(OnnxGraphWriter g, SequenceEncoder encoder, FeatureEncoding features, string input, string component)
    {
        string batchMajor;
        switch (features.Kind)
        {
            case SequenceItemKind.Singles:
                batchMajor = g.Reshape(input, [0, -1, features.FeaturesPerStep], "steps");
                break;
            case SequenceItemKind.Keys:
                // ML.NET keys are 1-based and 0 is a missing key, which the embedding reads as its last row.
                string keys = g.Apply("Cast", "keys", n => n.AddAttribute("to", typeof(long)), input);
                string missing = g.Apply("Equal", "missing", keys, g.Long(0, "zero"));
                string ids = g.Apply("Where", "ids", missing, g.Long((long)features.KeyCount, "unknown"),
                    g.Apply("Sub", "indices", keys, g.Long(1, "one")));
                batchMajor = g.Apply("Gather", "embedded", n => n.AddAttribute("axis", 0L), g.Parameter(encoder, "embedding.weight"), ids);
                break;
            default:
                batchMajor = OnnxTokenExport.Embed(g, encoder, features, input, component);
                break;
        }
        return g.Transpose(batchMajor, [1, 0, 2], "time_major");
    }

    /// <summary>One direction's stack of layers: outputs (L, N, H) and final outputs (N, H).</summary>
    private static (string Outputs, string Final) Stack(OnnxGraphWriter g, IReadOnlyList<RnnCell> cells, string x, string direction,
        string component, string column)
    {
        string final = "";
        for (int layer = 0; layer < cells.Count; layer++)
            (x, final) = Layer(g, [cells[layer]], x, direction, $"{direction}{layer}", component, column);
        return (x, final);
    }

    /// <summary>
    /// One layer as one ONNX node (two cells: both directions); returns its outputs (L, N, D*H) with the directions
    /// side by side, and its final outputs (N, D*H): the last step forward, the first step backward.
    /// </summary>
    private static (string Outputs, string Final) Layer(OnnxGraphWriter g, RnnCell[] cells, string x, string direction, string name,
        string component, string column)
    {
        using var scope = NewDisposeScope();
        cells = cells.Select(AtInference).ToArray();
        var described = cells.Select(cell => (cell as GatedRnnCell)?.OnnxOperator()).ToArray();
        if (AlwaysScan || described.Any(o => o is null))
            return ScanLayer(g, cells, x, direction, name, component, column);
        var ops = described.Select(o => o!).ToArray();
        var op = ops[0];
        Tensor Stacked(Func<OnnxRecurrentOperator, Tensor> part) => stack(ops.Select(part).ToArray());
        // ONNX Runtime's GRU ends the process on a sequence of no steps (its LSTM and RNN return zeros).
        var guard = op.Type == "GRU" ? NoStepsGuard.Write(g, x, name) : null;
        var inputs = new List<string>
        {
            guard?.Input ?? x,
            g.Weight(Stacked(o => o.W), name + ".W"),
            g.Weight(Stacked(o => o.R), name + ".R"),
            g.Weight(Stacked(o => o.B), name + ".B"),
        };
        if (op.P is not null)
            inputs.AddRange(["", "", "", g.Weight(Stacked(o => o.P!), name + ".P")]);   // sequence_lens, initial_h, initial_c omitted
        string y = g.NewValue(name + ".Y"), yh = g.NewValue(name + ".Y_h");
        var node = g.Node(op.Type, inputs, [y, yh]);
        node.AddAttribute("hidden_size", op.HiddenSize);
        node.AddAttribute("direction", direction);
        if (op.LinearBeforeReset is { } linearBeforeReset)
            node.AddAttribute("linear_before_reset", linearBeforeReset);
        if (op.Activation is { } activation)
            node.AddAttribute("activations", Enumerable.Repeat(activation, cells.Length).ToArray());
        if (guard is not null)
            (y, yh) = guard.Restore(g, y, yh, name);

        // (L, D, N, H) -> (L, N, D*H) and (D, N, H) -> (N, D*H), sized without -1 so that a row of no steps reshapes too.
        long width = op.HiddenSize * cells.Length;
        string outputs = g.Reshape(g.Transpose(y, [0, 2, 1, 3], name + ".by_row"), [0, 0, width], name + ".outputs");
        string final = g.Reshape(g.Transpose(yh, [1, 0, 2], name + ".final_by_row"), [0, width], name + ".final");
        return (outputs, final);
    }

    /// <summary>The cell as it computes at inference: dropout between layers (<see cref="DropoutCell"/>) is the identity there.</summary>
    private static RnnCell AtInference(RnnCell cell) => cell is DropoutCell dropout ? AtInference(dropout.Inner) : cell;

    /// <summary>
    /// A layer as one <c>Scan</c> per direction (<see cref="OnnxCellScan"/>), the directions side by side. ONNX Runtime's
    /// Scan fails on a sequence of no steps, so the layer is guarded as the GRU is.
    /// </summary>
    private static (string Outputs, string Final) ScanLayer(OnnxGraphWriter g, RnnCell[] cells, string x, string direction, string name,
        string component, string column)
    {
        var guard = NoStepsGuard.Write(g, x, name);
        if (cells.Length == 1)
        {
            var (outputs, final) = OnnxCellScan.Write(g, cells[0], guard.Input, reverse: direction == "reverse", name, component, column);
            return guard.Restore(g, outputs, final, name);
        }
        var (forward, forwardFinal) = OnnxCellScan.Write(g, cells[0], guard.Input, reverse: false, name + ".forward", component, column);
        var (backward, backwardFinal) = OnnxCellScan.Write(g, cells[1], guard.Input, reverse: true, name + ".backward", component, column);
        return guard.Restore(g, g.Apply("Concat", name + ".outputs", n => n.AddAttribute("axis", 2L), forward, backward),
            g.Apply("Concat", name + ".final", n => n.AddAttribute("axis", 1L), forwardFinal, backwardFinal), name);
    }
}
