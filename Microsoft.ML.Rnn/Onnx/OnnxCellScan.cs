using Microsoft.ML.Rnn.Core;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// One direction of one layer as an ONNX <c>Scan</c> over the cell's step (<see cref="IOnnxStepCell"/>): what a cell
/// without an ONNX recurrent operator (or with options that operator lacks) exports as. The body carries the cell's
/// state and the last output; the scan output is every step's output.
/// </summary>
/// <remarks>
/// The cell's <see cref="IOnnxStepCell.WriteOnnxPrepare"/> runs on the whole sequence before the Scan. Body inputs: the
/// state values (N, S_k), the last output (N, H_out), the step's slice of the prepared inputs (N, P); body outputs: the new
/// state, the step's output as the new last output, and the step's output again as the scan output. The last output
/// starts at zero, so a row of no steps has zero final outputs, as in the component. Backward, the scan reads the steps
/// last to first and writes its outputs back in time order (<c>scan_input_directions</c>, <c>scan_output_directions</c>),
/// so the final output is the first step's, as the component's backward direction.
/// </remarks>
internal static class OnnxCellScan
{
    /// <summary>Every step's outputs (L, N, H_out) and the final output (N, H_out) of <paramref name="cell"/> over <paramref name="x"/> (L, N, H_in).</summary>
    public static (string Outputs, string Final) Write(OnnxGraphWriter g, RnnCell cell, string x, bool reverse, string name,
        string component, string column)
    {
        if (cell is not IOnnxStepCell stepCell)
        {
            throw new NotSupportedException($"{component}: feature column '{column}': the cell {cell.GetType().Name} does not describe its " +
                $"step in ONNX operators: implement {nameof(IOnnxStepCell)} (docs/core-api.md) to export it.");
        }

        // Zero initial state and last output, (N, S) each.
        var initial = cell.StateSizes.Select((size, k) => g.BatchZeros(x, size, $"{name}.state{k}.initial"))
            .Append(g.BatchZeros(x, cell.OutputSize, name + ".last.initial")).ToArray();

        // What does not depend on the state, for every step at once (the input projection), then the Scan over its steps.
        string prepared = stepCell.WriteOnnxPrepare(new OnnxStep(new StepNodes(new OnnxGraphWriter(g.Target, g.Name(name)))), x);
        var body = new OnnxSubgraphBuilder(g.Target);
        var bodyWriter = new OnnxGraphWriter(body, g.Name(name));
        var state = cell.StateSizes.Select((_, k) => body.Input(bodyWriter.Name($"state{k}"), typeof(float))).ToArray();
        body.Input(bodyWriter.Name("last"), typeof(float));
        string input = body.Input(bodyWriter.Name("prepared_t"), typeof(float));
        var (output, next) = stepCell.WriteOnnxStepPrepared(new OnnxStep(new StepNodes(bodyWriter)), input, state);
        if (next is null || next.Length != state.Length)
        {
            throw new InvalidOperationException($"{component}: feature column '{column}': {cell.GetType().Name}.{nameof(IOnnxStepCell.WriteOnnxStep)} " +
                $"returned {next?.Length ?? 0} state values; the cell has {state.Length} ({nameof(RnnCell.StateSizes)}).");
        }
        for (int k = 0; k < next.Length; k++) body.Output(next[k], bodyWriter.Name($"state{k}.next"), typeof(float));
        body.Output(output, bodyWriter.Name("last.next"), typeof(float));
        body.Output(output, bodyWriter.Name("y_t"), typeof(float));

        var finalState = state.Select((_, k) => g.NewValue($"{name}.state{k}.final")).ToArray();
        string final = g.NewValue(name + ".final"), outputs = g.NewValue(name + ".outputs");
        var scan = g.Node("Scan", [.. initial, prepared], [.. finalState, final, outputs]);
        scan.AddAttribute("body", body.ToGraph(g.Name(name + ".step")));
        scan.AddAttribute("num_scan_inputs", 1L);
        if (reverse)
        {
            scan.AddAttribute("scan_input_directions", [1L]);
            scan.AddAttribute("scan_output_directions", [1L]);
        }
        return (outputs, final);
    }

    /// <summary>An <see cref="OnnxStep"/>'s nodes and constants written into the body.</summary>
    private sealed class StepNodes(OnnxGraphWriter body) : IOnnxStepNodes
    {
        public string[] Node(string op, string[] inputs, int outputs, (string Name, object Value)[] attributes)
        {
            var names = Enumerable.Range(0, outputs).Select(_ => body.NewValue(op)).ToArray();
            var node = body.Node(op, inputs, names);
            foreach (var (attribute, value) in attributes)
            {
                switch (value)
                {
                    case long l: node.AddAttribute(attribute, l); break;
                    case int i: node.AddAttribute(attribute, (long)i); break;
                    case float f: node.AddAttribute(attribute, f); break;
                    case double d: node.AddAttribute(attribute, (float)d); break;
                    case string s: node.AddAttribute(attribute, s); break;
                    case long[] ls: node.AddAttribute(attribute, ls); break;
                    case string[] ss: node.AddAttribute(attribute, ss); break;
                    default:
                        throw new ArgumentException($"ONNX step: the attribute '{attribute}' of {op} is a {value?.GetType().Name ?? "null"}; " +
                            "an attribute is a long, int, float, double, string, long[] or string[].", nameof(attributes));
                }
            }
            return names;
        }

        public string Constant(float[] values, long[] dims, string name) => body.Weights(values, dims, name);

        public string Constant(float value, string name) => body.Float(value, name);

        public string Constant(long[] values, string name) => body.Longs(values, name);
    }
}
