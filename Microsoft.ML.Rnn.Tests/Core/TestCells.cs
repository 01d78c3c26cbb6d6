using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>
/// A small two-state test cell: h' = tanh(W x + U h + b), a' = a + h' (a running sum, so a state that is copied
/// through padding is visible). Output h'. Its "fused" path is an independent whole-sequence implementation
/// (masking by multiplication, indexing by select) so that unroller and wrapper fused plumbing can be tested.
/// </summary>
internal sealed class TanhSumCell : RnnCell
{
    private readonly Parameter w;
    private readonly Parameter u;
    private readonly Parameter b;
    private readonly bool fusable;

    public TanhSumCell(long inputSize, long hiddenSize, bool fusable = false, ScalarType dtype = ScalarType.Float32, long seed = 1)
        : base("tanh_sum")
    {
        var g = new Generator((ulong)seed);
        w = new Parameter(randn(hiddenSize, inputSize, dtype: dtype, generator: g) * 0.5);
        u = new Parameter(randn(hiddenSize, hiddenSize, dtype: dtype, generator: g) * 0.5);
        b = new Parameter(randn(hiddenSize, dtype: dtype, generator: g) * 0.1);
        this.fusable = fusable;
        InputSize = inputSize;
        OutputSize = hiddenSize;
        StateSizes = [hiddenSize, hiddenSize];
        RegisterComponents();
    }

    public int BeginSequenceCalls { get; private set; }
    public int FusedCalls { get; private set; }

    public override long InputSize { get; }
    public override IReadOnlyList<long> StateSizes { get; }
    public override long OutputSize { get; }
    public override bool CanFuse => fusable;
    public override string FuseBlocker => fusable ? "none" : "TanhSumCell built with fusable: false";

    public override void BeginSequence(long batchSize, Device device, ScalarType dtype) => BeginSequenceCalls++;

    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        var h = tanh(input.matmul(w.t()) + state[0].matmul(u.t()) + b);
        return (h, [h, state[1] + h]);
    }

    public override (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch batch, IReadOnlyList<Tensor> initialState)
    {
        FusedCalls++;
        var (inputs, lengths) = (batch.Data, batch.Lengths);
        long n = inputs.shape[0], steps = inputs.shape[1];
        var h = initialState[0];
        var a = initialState[1];
        var outs = new List<Tensor>();
        for (long t = 0; t < steps; t++)
        {
            var m = lengths is null
                ? ones(n, 1, dtype: inputs.dtype)
                : (lengths > t).to(inputs.dtype).view(n, 1);
            var hn = tanh(inputs.select(1, t).matmul(w.t()) + h.matmul(u.t()) + b);
            outs.Add(hn * m);
            h = hn * m + h * (1 - m);
            a = (a + hn) * m + a * (1 - m);
        }
        return (stack(outs, 1), [h, a]);
    }
}

/// <summary>
/// A parameter-free probe: output = input (so dropout masks on input/output are visible), one state entry that
/// counts steps (so the final state equals the number of valid steps).
/// </summary>
internal sealed class EchoCell : RnnCell
{
    public EchoCell(long size) : base("echo")
    {
        InputSize = size;
        OutputSize = size;
        StateSizes = [1];
    }

    public override long InputSize { get; }
    public override IReadOnlyList<long> StateSizes { get; }
    public override long OutputSize { get; }

    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
        => (input.alias(), [state[0] + 1]);
}

/// <summary>Wraps a cell and records (detached copies of) the state each sequence starts from.</summary>
internal sealed class RecordingCell : RnnCell
{
    private readonly RnnCell inner;
    private bool first;

    public RecordingCell(RnnCell inner) : base("recording")
    {
        this.inner = inner;
        RegisterComponents();
    }

    /// <summary>Per unroll: the initial state as received, and whether it was attached to a graph.</summary>
    public List<(Tensor[] State, bool RequiresGrad)> InitialStates { get; } = [];

    public override long InputSize => inner.InputSize;
    public override IReadOnlyList<long> StateSizes => inner.StateSizes;
    public override long OutputSize => inner.OutputSize;

    public override void BeginSequence(long batchSize, Device device, ScalarType dtype)
    {
        first = true;
        inner.BeginSequence(batchSize, device, dtype);
    }

    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        if (first)
        {
            InitialStates.Add((state.Select(s => s.detach().clone().DetachFromDisposeScope()).ToArray(),
                state.Any(s => s.requires_grad)));
            first = false;
        }
        return inner.Step(input, state);
    }
}
