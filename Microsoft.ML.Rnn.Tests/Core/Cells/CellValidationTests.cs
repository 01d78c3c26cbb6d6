using Microsoft.ML.Rnn.Core;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>Error messages, fuse blockers, parameter registration and sizes of the built-in cells.</summary>
public class CellValidationTests
{
    [Fact]
    public void StepRejectsWrongInputShape()
    {
        using var scope = NewDisposeScope();
        using var cell = new LstmCell(5, 4);
        var ex = Assert.Throws<ArgumentException>(() => cell.Step(zeros(2, 7), cell.ZeroState(2)));
        Assert.Equal("input", ex.ParamName);
        Assert.StartsWith("LstmCell: expected input of shape (N, 5), got (2, 7)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => cell.Step(zeros(5), cell.ZeroState(2)));
        Assert.StartsWith("LstmCell: expected input of shape (N, 5), got (5)", ex.Message);
    }

    [Fact]
    public void StepRejectsWrongStateCountAndSize()
    {
        using var scope = NewDisposeScope();
        using var cell = new LstmCell(5, 4, new LstmCellOptions { NumProj = 3 });
        var x = zeros(2, 5);
        var ex = Assert.Throws<ArgumentException>(() => cell.Step(x, [zeros(2, 4)]));
        Assert.Equal("state", ex.ParamName);
        Assert.StartsWith("LstmCell: expected 2 state tensor(s), got 1", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => cell.Step(x, [zeros(2, 4), zeros(2, 4)]));
        Assert.StartsWith("LstmCell: expected state 1 of shape (2, 3), got (2, 4)", ex.Message);
        using var gru = new GruCell(5, 4);
        ex = Assert.Throws<ArgumentException>(() => gru.Step(x, [zeros(3, 4)]));
        Assert.StartsWith("GruCell: expected state 0 of shape (2, 4), got (3, 4)", ex.Message);
    }

    [Fact]
    public void ForwardFusedRejectsBadInputsAndLengths()
    {
        using var scope = NewDisposeScope();
        using var cell = new SimpleRnnCell(3, 4);
        var init = cell.ZeroState(2);
        var ex = Assert.Throws<ArgumentException>(() => cell.ForwardFused(zeros(2, 5, 2), null, init));
        Assert.StartsWith("SimpleRnnCell: expected inputs of shape (N, L, 3), got (2, 5, 2)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => cell.ForwardFused(zeros(2, 5, 3), tensor(new float[] { 1, 2 }), init));
        Assert.StartsWith("SimpleRnnCell: sequence lengths must be integers, got Float32", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => cell.ForwardFused(zeros(2, 5, 3), tensor(new long[] { 1, 2, 3 }), init));
        Assert.StartsWith("SimpleRnnCell: expected sequence lengths of shape (2), got (3)", ex.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => cell.ForwardFused(zeros(2, 5, 3), tensor(new long[] { 1, 6 }), init));
        Assert.StartsWith("SimpleRnnCell: sequence lengths must lie in [0, 5] (the number of steps), got values from 1 to 6", range.Message);
        // Integer lengths of another type are read as Int64 (validated once, where the batch is made).
        var (narrow, _) = cell.ForwardFused(zeros(2, 5, 3), tensor(new int[] { 1, 2 }), init);
        var (wide, _) = cell.ForwardFused(zeros(2, 5, 3), tensor(new long[] { 1, 2 }), init);
        Assert.Equal(wide.data<float>().ToArray(), narrow.data<float>().ToArray());
        ex = Assert.Throws<ArgumentException>(() => cell.ForwardFused(zeros(2, 5, 3), null, cell.ZeroState(3)));
        Assert.Equal("initialState", ex.ParamName);
        Assert.StartsWith("SimpleRnnCell: expected state 0 of shape (2, 4), got (3, 4)", ex.Message);
    }

    public static TheoryData<string, string> Blockers() => new()
    {
        { "lstm-forget-bias", "LstmCell: cannot run fused: options block the fused kernel: ForgetBias = 1 (the fused kernel has no run-time forget bias)." },
        { "lstm-peepholes", "LstmCell: cannot run fused: options block the fused kernel: UsePeepholes (the fused kernel has no peepholes)." },
        { "lstm-clip-proj", "LstmCell: cannot run fused: options block the fused kernel: CellClip (the fused kernel does not clip the cell state); NumProj (TorchSharp's fused LSTM has no projection)." },
        { "gru-before", "GruCell: cannot run fused: the reset gate is applied before the recurrent matmul (TensorFlow 1.x GRUCell), which no fused kernel computes; use GruResetGate.AfterRecurrentMatmul." },
        { "cifg", "CoupledInputForgetLstmCell: cannot run fused: no fused kernel couples the input and forget gates." },
        { "layernorm", "LayerNormLstmCell: cannot run fused: no fused kernel normalises the gates." },
    };

    private static RnnCell NonFusable(string kind) => kind switch
    {
        "lstm-forget-bias" => new LstmCell(3, 4, new LstmCellOptions { ForgetBias = 1.0 }),
        "lstm-peepholes" => new LstmCell(3, 4, new LstmCellOptions { UsePeepholes = true }),
        "lstm-clip-proj" => new LstmCell(3, 4, new LstmCellOptions { CellClip = 1, NumProj = 2 }),
        "gru-before" => new GruCell(3, 4, GruResetGate.BeforeRecurrentMatmul),
        "cifg" => new CoupledInputForgetLstmCell(3, 4),
        "layernorm" => new LayerNormLstmCell(3, 4),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Blockers))]
    public void ForwardFusedOnNonFusableCellNamesTheBlocker(string kind, string message)
    {
        using var scope = NewDisposeScope();
        using var cell = NonFusable(kind);
        Assert.False(cell.CanFuse);
        var ex = Assert.Throws<NotSupportedException>(() => cell.ForwardFused(zeros(2, 3, 3), null, cell.ZeroState(2)));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void ConstructorsRejectInvalidOptions()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LstmCell(3, 4, new LstmCellOptions { ProjClip = 1 }));
        Assert.StartsWith("LstmCell: ProjClip requires NumProj", ex.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => new LstmCell(3, 4, new LstmCellOptions { CellClip = -1 }));
        Assert.StartsWith("LstmCell: CellClip must be positive, got -1", range.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GruCell(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormLstmCell(3, 4, epsilon: 0));
    }

    public static TheoryData<string, int, long[], long> Sizes() => new()
    {
        { "rnn", 4, [4], 4 },
        { "gru-after", 4, [4], 4 },
        { "gru-before", 4, [4], 4 },
        { "lstm", 4, [4, 4], 4 },
        { "lstm-forget-bias", 4, [4, 4], 4 },
        { "lstm-peepholes", 7, [4, 4], 4 },
        { "lstm-proj", 5, [4, 2], 2 },
        { "lstm-all", 8, [4, 2], 2 },
        { "cifg", 4, [4, 4], 4 },
        { "layernorm", 6, [4, 4], 4 },
    };

    private static RnnCell Any(string kind) => kind switch
    {
        "rnn" => new SimpleRnnCell(3, 4),
        "gru-after" => new GruCell(3, 4),
        "gru-before" => new GruCell(3, 4, GruResetGate.BeforeRecurrentMatmul),
        "lstm" => new LstmCell(3, 4),
        "lstm-forget-bias" => new LstmCell(3, 4, new LstmCellOptions { ForgetBias = 1 }),
        "lstm-peepholes" => new LstmCell(3, 4, new LstmCellOptions { UsePeepholes = true }),
        "lstm-proj" => new LstmCell(3, 4, new LstmCellOptions { NumProj = 2 }),
        "lstm-all" => new LstmCell(3, 4, new LstmCellOptions { ForgetBias = 1, UsePeepholes = true, CellClip = 3, NumProj = 2, ProjClip = 3 }),
        "cifg" => new CoupledInputForgetLstmCell(3, 4),
        "layernorm" => new LayerNormLstmCell(3, 4),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void ParametersAreRegisteredOnceAndSurviveMoves(string kind, int parameterCount, long[] stateSizes, long outputSize)
    {
        using var scope = NewDisposeScope();
        using var cell = Any(kind);
        Assert.Equal(parameterCount, cell.parameters().Count());
        Assert.Equal(parameterCount, cell.parameters().Select(p => p.Handle).Distinct().Count());
        Assert.Equal(stateSizes, cell.StateSizes);
        Assert.Equal(outputSize, cell.OutputSize);
        Assert.Equal(3, cell.InputSize);

        // After a dtype move the public properties (used by Step) must see the moved tensors.
        cell.to(float64);
        Assert.Equal(parameterCount, cell.parameters().Count());
        Assert.All(cell.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        var state = cell.ZeroState(2);
        Assert.All(state, s => Assert.Equal(ScalarType.Float64, s.dtype));
        var (o, next) = cell.Step(randn(2, 3, dtype: float64), state);
        Assert.Equal(new long[] { 2, outputSize }, o.shape);
        Assert.Equal(stateSizes.Length, next.Length);

        // Deterministic initialisation from torch's global generator.
        manual_seed(3);
        using var a = Any(kind);
        manual_seed(3);
        using var b = Any(kind);
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
            Assert.Equal(0f, (pa - pb).abs().max().item<float>());
    }

    [Fact]
    public void ManagedParametersAreInitialisedLikePyTorch()
    {
        using var scope = NewDisposeScope();
        const long h = 16;
        double k = 1.0 / Math.Sqrt(h);
        manual_seed(11);
        RnnCell[] cells =
        [
            new GruCell(8, h, GruResetGate.BeforeRecurrentMatmul),
            new LstmCell(8, h, new LstmCellOptions { ForgetBias = 1, UsePeepholes = true, CellClip = 1, NumProj = 5 }),
            new CoupledInputForgetLstmCell(8, h),
            new LayerNormLstmCell(8, h),
        ];
        foreach (var cell in cells)
        {
            Assert.False(cell.CanFuse);
            foreach (var (name, p) in cell.named_parameters())
            {
                if (name.EndsWith("norm_weight"))
                    Assert.Equal((1f, 1f), (p.min().item<float>(), p.max().item<float>()));
                if (name.EndsWith("norm_bias"))
                    Assert.Equal(0f, p.abs().max().item<float>());
                if (name.Contains("norm"))
                    continue;
                double max = p.abs().max().item<float>();
                // Within the PyTorch bound, and spread over it (a wrong bound such as 1/sqrt(H_in) or 1 would fail).
                Assert.True(max <= k, $"{cell.GetType().Name}.{name}: |value| {max} exceeds 1/sqrt(H) = {k}");
                if (p.numel() >= 16)
                    Assert.True(max > 0.7 * k, $"{cell.GetType().Name}.{name}: values only reach {max}, expected close to {k}");
                Assert.True(p.requires_grad, $"{cell.GetType().Name}.{name} must require grad");
            }
            cell.Dispose();
        }
    }
}
