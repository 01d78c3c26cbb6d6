using Microsoft.ML.Rnn.Core;
using Xunit;
using static Microsoft.ML.Rnn.Tests.Core.Cells.CellTestHelpers;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>
/// <c>finalState: false</c> (outputs only, as the ML.NET components unroll): the same outputs and gradients as a full
/// unroll, and empty final states. For an LSTM with varying lengths this takes the segmented padded kernel instead of
/// the packed one, so the comparison checks a different code path, not the same one twice.
/// </summary>
public class OutputsOnlyTests
{
    private const long N = 20, L = 30, InputSize = 3, Hidden = 4;

    // Spread lengths with a zero and a full one, so that time segments are used.
    private static readonly long[] Lengths = [30, 3, 17, 0, 25, 8, 30, 12, 5, 21, 1, 28, 9, 14, 30, 2, 19, 6, 24, 11];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var cell in new[] { "lstm", "gru", "layer-norm-lstm" })
            foreach (var layout in new[] { "single", "stacked", "bidirectional", "stacked-bidirectional" })
                data.Add(cell, layout);
        return data;
    }

    private static RnnCell Cell(string kind, long inputSize) => kind switch
    {
        "lstm" => new LstmCell(inputSize, Hidden, dtype: float64),
        "gru" => new GruCell(inputSize, Hidden, dtype: float64),
        _ => new LayerNormLstmCell(inputSize, Hidden, dtype: float64),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsOnlyEqualTheFullUnrollWithGradients(string cellKind, string layout)
    {
        using var scope = NewDisposeScope();
        manual_seed(41);
        var modules = new List<nn.Module>();
        Func<Tensor, Tensor, bool, (Tensor Outputs, int FinalStates)> run;
        switch (layout)
        {
            case "single":
            {
                var cell = Cell(cellKind, InputSize);
                modules.Add(cell);
                // A given initial state, so that its sorting with the sequences is checked too.
                var init = cell.StateSizes.Select(size => randn(N, size, dtype: float64)).ToArray();
                run = (x, lengths, final) =>
                {
                    var r = DynamicUnroller.Unroll(cell, x, lengths, init, finalState: final);
                    return (r.Outputs, r.FinalState.Length);
                };
                break;
            }
            case "stacked":
            {
                var cell = new StackedCell([Cell(cellKind, InputSize), Cell(cellKind, Hidden)]);
                modules.Add(cell);
                run = (x, lengths, final) =>
                {
                    var r = DynamicUnroller.Unroll(cell, x, lengths, finalState: final);
                    return (r.Outputs, r.FinalState.Length);
                };
                break;
            }
            case "bidirectional":
            {
                RnnCell fw = Cell(cellKind, InputSize), bw = Cell(cellKind, InputSize);
                modules.AddRange([fw, bw]);
                run = (x, lengths, final) =>
                {
                    var r = BidirectionalUnroller.Unroll(fw, bw, x, lengths, finalState: final);
                    return (r.Outputs!, r.ForwardFinalState.Length + r.BackwardFinalState.Length);
                };
                break;
            }
            default:
            {
                RnnCell[] fw = [Cell(cellKind, InputSize), Cell(cellKind, 2 * Hidden)], bw = [Cell(cellKind, InputSize), Cell(cellKind, 2 * Hidden)];
                modules.AddRange(fw);
                modules.AddRange(bw);
                run = (x, lengths, final) =>
                {
                    var r = StackedBidirectionalUnroller.Unroll(fw, bw, x, lengths, finalState: final);
                    return (r.Outputs, r.ForwardFinalStates.Sum(s => s.Length) + r.BackwardFinalStates.Sum(s => s.Length));
                };
                break;
            }
        }

        var inputs = randn(N, L, InputSize, dtype: float64).requires_grad_();
        var weights = randn(N, L, layout.Contains("bidirectional") ? 2 * Hidden : Hidden, dtype: float64);
        var leaves = modules.SelectMany(m => m.parameters()).Cast<Tensor>().Append(inputs).ToArray();
        var lengths = tensor(Lengths);

        var (full, fullStates) = run(inputs, lengths, true);
        var (outputsOnly, noStates) = run(inputs, lengths, false);
        Assert.True(fullStates > 0);
        Assert.Equal(0, noStates);
        AssertClose(full, outputsOnly, 1e-10, "outputs");
        var fullGrads = autograd.grad([(full * weights).sum()], leaves);
        var onlyGrads = autograd.grad([(outputsOnly * weights).sum()], leaves);
        for (int i = 0; i < leaves.Length; i++)
            AssertClose(fullGrads[i], onlyGrads[i], 1e-9, $"gradient {i}");
    }

    /// <summary>A fusable cell that passes its input through and returns its initial state as its final state.</summary>
    private sealed class PassThroughCell() : RnnCell(nameof(PassThroughCell))
    {
        public override long InputSize => 2;
        public override IReadOnlyList<long> StateSizes => [2];
        public override long OutputSize => 2;
        public override bool CanFuse => true;
        public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state) => (input.alias(), state.ToArray());
        public override (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
            => (inputs.Data.alias(), initialState.ToArray());
    }

    [Fact]
    public void OutputsOnlyLeavesTheCallersInitialStateAlive()
    {
        using var scope = NewDisposeScope();
        using var cell = new PassThroughCell();
        var init = ones(3, 2);
        var outputs = DynamicUnroller.Unroll(cell, ones(3, 4, 2), initialState: [init], finalState: false).Outputs;
        Assert.Equal([3L, 4, 2], outputs.shape);
        Assert.Equal(6f, init.sum().item<float>());   // a disposed tensor would throw here
    }
}
