using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Which libtorch fused kernel a <see cref="FusedKernel"/> wraps.</summary>
public enum FusedKernelKind
{
    /// <summary>nn.LSTM; state (c, h).</summary>
    Lstm,
    /// <summary>nn.GRU (reset gate after the recurrent matmul); state (h).</summary>
    Gru,
    /// <summary>nn.RNN with tanh; state (h).</summary>
    RnnTanh,
    /// <summary>nn.RNN with ReLU; state (h).</summary>
    RnnRelu,
}

/// <summary>
/// A native single-layer, unidirectional, batch-first nn.LSTM / nn.GRU / nn.RNN that owns a fusable cell's
/// parameters. The cell's step path reads <see cref="WeightIh"/>, ... which are the native module's own Parameter
/// tensors, so the step path and <see cref="Forward"/> always compute with the same weights.
/// </summary>
/// <remarks>
/// Parameter layout is PyTorch's: weight_ih (G*H, H_in), weight_hh (G*H, H), bias_ih (G*H), bias_hh (G*H), with
/// G = 4 (LSTM gates i, f, g, o), 3 (GRU gates r, z, n) or 1 (RNN).
/// </remarks>
internal sealed class FusedKernel
{
    private readonly RnnCell _owner;

    /// <summary>Creates the native module (initialised by libtorch like PyTorch: uniform(-1/sqrt(H), 1/sqrt(H))).</summary>
    /// <param name="owner">The cell whose parameters these are: its step loop is one of the ways
    /// <see cref="FusedKernelChecks"/> may choose to compute the kernel.</param>
    /// <param name="kind">Which kernel.</param>
    /// <param name="inputSize">H_in.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="device">Device of the parameters.</param>
    /// <param name="dtype">Element type of the parameters.</param>
    public FusedKernel(RnnCell owner, FusedKernelKind kind, long inputSize, long hiddenSize, Device? device, ScalarType? dtype)
    {
        _owner = owner;
        Kind = kind;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Module = kind switch
        {
            FusedKernelKind.Lstm => nn.LSTM(inputSize, hiddenSize, batchFirst: true, device: device, dtype: dtype),
            FusedKernelKind.Gru => nn.GRU(inputSize, hiddenSize, batchFirst: true, device: device, dtype: dtype),
            FusedKernelKind.RnnTanh => nn.RNN(inputSize, hiddenSize, nonLinearity: nn.NonLinearities.Tanh, batchFirst: true, device: device, dtype: dtype),
            FusedKernelKind.RnnRelu => nn.RNN(inputSize, hiddenSize, nonLinearity: nn.NonLinearities.ReLU, batchFirst: true, device: device, dtype: dtype),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>The kernel kind.</summary>
    public FusedKernelKind Kind { get; }

    /// <summary>H_in, the input size.</summary>
    public long InputSize { get; }

    /// <summary>H, the hidden size.</summary>
    public long HiddenSize { get; }

    /// <summary>State tensors: 2 for an LSTM (c, h), 1 otherwise.</summary>
    public int StateCount => Kind == FusedKernelKind.Lstm ? 2 : 1;

    /// <summary>weight_ih, weight_hh, bias_ih, bias_hh.</summary>
    public Parameter[] Weights => [WeightIh, WeightHh, BiasIh, BiasHh];

    /// <summary>
    /// The weights under the names a cell's step path gives them (weight_ih, weight_hh, bias_ih, bias_hh), not
    /// libtorch's (weight_ih_l0, ...): the owning cell reports these, so its parameter names and state-dict keys do
    /// not depend on whether its options let it fuse.
    /// </summary>
    public (string Name, Parameter Parameter)[] NamedWeights
        => [("weight_ih", WeightIh), ("weight_hh", WeightHh), ("bias_ih", BiasIh), ("bias_hh", BiasHh)];

    /// <summary>The native module; the owning cell registers it as its only child.</summary>
    public nn.Module Module { get; }

    /// <summary>(G*H, H_in), looked up on every access so that moves between devices/dtypes are always seen.</summary>
    public Parameter WeightIh => Get("weight_ih_l0");

    /// <summary>(G*H, H).</summary>
    public Parameter WeightHh => Get("weight_hh_l0");

    /// <summary>(G*H).</summary>
    public Parameter BiasIh => Get("bias_ih_l0");

    /// <summary>(G*H).</summary>
    public Parameter BiasHh => Get("bias_hh_l0");

    private Parameter Get(string name)
        => Module.get_parameter(name) ?? throw new InvalidOperationException($"FusedKernel: native module has no parameter '{name}'");

    /// <summary>
    /// Runs the whole batch with the fused kernel, with DynamicUnroller semantics (zero outputs past each length,
    /// final state at the last valid step, initial state and zero outputs for empty sequences).
    /// Arguments must already be validated by the cell.
    /// </summary>
    /// <param name="inputs">(N, L, H_in) and the lengths.</param>
    /// <param name="initialState">Our state order: LSTM (c, h) of (N, H) each; GRU/RNN (h).</param>
    /// <param name="finalState">False when the caller only reads the outputs: the final state is then empty, which
    /// lets an LSTM with varying lengths skip recomputing its final cell state (which is not among the outputs).</param>
    /// <returns>Outputs (N, L, H) and the final state in our order (empty when not asked for).</returns>
    /// <remarks>Which way computes the results (libtorch's kernel, with or without oneDNN, or the owning cell's step
    /// loop) is <see cref="FusedKernelChecks"/>' choice for this shape: the first call of a shape may check it.</remarks>
    public (Tensor Outputs, Tensor[] FinalState) Forward(SequenceBatch inputs, IReadOnlyList<Tensor> initialState, bool finalState = true)
        => ForwardOn(FusedKernelChecks.PathFor(this, inputs.Data), inputs, initialState, finalState);

    /// <summary><see cref="Forward"/> computed by the given <paramref name="path"/>, unchecked (for the checks themselves).</summary>
    internal (Tensor Outputs, Tensor[] FinalState) ForwardOn(FusedKernelPath path, SequenceBatch inputs, IReadOnlyList<Tensor> initialState, bool finalState = true)
    {
        // Own scope: the masks, views and native (1, N, H) states made here must not outlive the call when the
        // caller has no scope of its own; only the results move out.
        using var scope = NewDisposeScope();
        var (outputs, final) = ForwardCore(path, inputs, initialState, finalState);
        if (!finalState)
            final = [];
        outputs.MoveToOuterDisposeScope();
        foreach (var s in final)
            s.MoveToOuterDisposeScope();
        return (outputs, final);
    }

    private (Tensor Outputs, Tensor[] FinalState) ForwardCore(FusedKernelPath path, SequenceBatch batch, IReadOnlyList<Tensor> initialState, bool finalState)
    {
        var inputs = batch.Data;
        long n = batch.BatchSize, l = batch.Steps;
        if (batch.VaryingLengths is not { } lengthValues || n == 0 || l == 0)
        {
            if (l == 0)
                return (zeros(n, 0, HiddenSize, dtype: inputs.dtype, device: inputs.device), initialState.Select(s => s.clone()).ToArray());
            return RunPadded(path, inputs, initialState);
        }

        long min = batch.MinLength, max = batch.MaxLength;
        if (min == max)
        {
            // All sequences share one length: one call on the valid prefix.
            if (max == 0)
                return (zeros(n, l, HiddenSize, dtype: inputs.dtype, device: inputs.device), initialState.Select(s => s.clone()).ToArray());
            if (max == l)
                return RunPadded(path, inputs, initialState);
            var (prefixOut, prefixState) = RunPadded(path, inputs.narrow(1, 0, max), initialState);
            return (nn.functional.pad(prefixOut, [0, 0, 0, l - max]), prefixState);
        }

        var ends = TimeSegments.Ends(lengthValues, recomputesCellStates: finalState && Kind == FusedKernelKind.Lstm);
        return RunSegments(path, inputs, lengthValues, ends, initialState, finalState);
    }

    /// <summary>
    /// Varying lengths: sequences sorted by decreasing length, then one call of the padded kernel (which uses oneDNN;
    /// libtorch's packed kernel does not and measured ~2.7× slower) per time segment (<see cref="TimeSegments"/>; a
    /// single one when lengths are close) on only the sequences still running at its start, each starting from the
    /// state the previous segment left. Sequences ending inside a segment compute a few padding steps, which only feed
    /// later padding steps of the same sequence: their outputs are zeroed, and their inputs are zeroed first when
    /// gradients are recorded, so that NaN or infinite padding cannot reach them. The final output (the whole state of
    /// a GRU or simple RNN) is the output at each sequence's last valid step; an LSTM's final cell state comes from the
    /// segment's final state for sequences ending at its end and from <see cref="LstmCellStateAt"/> for the others.
    /// </summary>
    /// <remarks>
    /// Built from libtorch's cheap operations: an index_select of each segment's inputs, a copy of its outputs into a
    /// sorted result, one index_select back to batch order and one index_fill of the padding steps. A masked_fill or an
    /// index_copy per segment measured 5–7× slower on CPU than a copy of the same size.
    /// </remarks>
    private (Tensor Outputs, Tensor[] FinalState) RunSegments(FusedKernelPath path, Tensor inputs, long[] lengths, long[] ends, IReadOnlyList<Tensor> initialState, bool finalState)
    {
        long n = inputs.shape[0], l = inputs.shape[1];
        long[] order = Enumerable.Range(0, (int)n).OrderByDescending(i => lengths[i]).Select(i => (long)i).ToArray();
        long[] sortedLengths = order.Select(i => lengths[i]).ToArray();
        bool sorted = order.Select((row, i) => row == i).All(same => same);
        var sort = tensor(order, device: inputs.device);
        var padding = PaddingSteps(lengths, ends, l, inputs.device);
        var source = padding is not null && is_grad_enabled()
            ? inputs.reshape(n * l, inputs.shape[2]).index_fill(0, padding, KeptScalars.Zero).view(n, l, inputs.shape[2])
            : inputs;
        var sortedOutputs = zeros(n, l, HiddenSize, dtype: inputs.dtype, device: inputs.device);
        var sortedInitialState = sorted ? initialState.ToArray() : initialState.Select(s => s.index_select(0, sort)).ToArray();
        var state = sortedInitialState;
        // An LSTM's final cell state is not among its outputs: collected per segment for the sequences ending in it,
        // a block of the sorted order each, put in front of the earlier ones (the shortest sequences end first).
        bool cellStates = finalState && Kind == FusedKernelKind.Lstm;
        var finishedCellStates = new List<Tensor>();
        long start = 0;
        foreach (long end in ends)
        {
            // The running rows only shrink, so they are a prefix of the sorted order and each segment's state is a
            // prefix of the previous segment's final state; rows that have ended are never read again.
            long rows = sortedLengths.Count(v => v > start), steps = end - start;
            var x = source.narrow(1, start, steps).index_select(0, sort.narrow(0, 0, rows));
            var entering = state.Select(s => s.narrow(0, 0, rows)).ToArray();
            var (segment, final) = RunPadded(path, x, entering);
            sortedOutputs.narrow(0, 0, rows).narrow(1, start, steps).copy_(segment);
            if (cellStates)
            {
                long running = sortedLengths.Count(v => v > end), atEnd = sortedLengths.Count(v => v >= end);
                var finished = final[0].narrow(0, running, atEnd - running);
                if (atEnd < rows)
                {
                    var localLengths = sortedLengths[(int)atEnd..(int)rows].Select(v => v - start).ToArray();
                    var inside = LstmCellStateAt(x.narrow(0, atEnd, rows - atEnd), segment.narrow(0, atEnd, rows - atEnd),
                        entering.Select(e => e.narrow(0, atEnd, rows - atEnd)).ToArray(), localLengths);
                    finished = cat([finished, inside], 0);
                }
                finishedCellStates.Insert(0, finished);
            }
            state = final;
            start = end;
        }
        var unsort = sorted ? null : argsort(sort);
        var outputs = unsort is null ? sortedOutputs : sortedOutputs.index_select(0, unsort);
        if (padding is not null)
            outputs.view(n * l, HiddenSize).index_fill_(0, padding, KeptScalars.Zero);
        if (!finalState)
            return (outputs, []);
        var finalOutput = FinalOutput(outputs, lengths, initialState);
        if (!cellStates)
            return (outputs, [finalOutput]);
        // Sorted order: the blocks from the last segment's to the first's, then the empty sequences' initial states.
        long empty = sortedLengths.Count(v => v == 0);
        finishedCellStates.Add(sortedInitialState[0].narrow(0, n - empty, empty));
        var cell = cat(finishedCellStates, 0);
        return (outputs, [unsort is null ? cell : cell.index_select(0, unsort), finalOutput]);
    }

    /// <summary>
    /// The cell state of LSTM sequences that ended inside a segment, at each one's last step, recomputed from what the
    /// kernel returned: every step's gates depend only on its input and the previous output, both known, so all
    /// gates come from two matrix products and only the linear recurrence c = f·c + i·g runs step by step. Equal to
    /// the kernel's own cell state up to rounding, and differentiable like it.
    /// </summary>
    /// <param name="inputs">(K, S, H_in) the segment's inputs for these sequences.</param>
    /// <param name="outputs">(K, S, H) the kernel's outputs for them.</param>
    /// <param name="entering">Their (c, h) entering the segment.</param>
    /// <param name="lengths">Their lengths within the segment, each in [1, S).</param>
    private Tensor LstmCellStateAt(Tensor inputs, Tensor outputs, IReadOnlyList<Tensor> entering, long[] lengths)
    {
        long k = inputs.shape[0], steps = lengths.Max();
        var previousOutputs = cat([entering[1].unsqueeze(1), outputs.narrow(1, 0, steps - 1)], 1);
        // PyTorch's gate order is i, f, g, o: the cell state needs the first three only.
        long needed = 3 * HiddenSize;
        var gates = nn.functional.linear(inputs.narrow(1, 0, steps), WeightIh.narrow(0, 0, needed), BiasIh.narrow(0, 0, needed))
            .Plus(nn.functional.linear(previousOutputs, WeightHh.narrow(0, 0, needed), BiasHh.narrow(0, 0, needed))).chunk(3, 2);
        var forget = gates[1].sigmoid();
        var update = gates[0].sigmoid() * gates[2].tanh();
        var cell = entering[0];
        var cells = new Tensor[steps];
        for (int t = 0; t < steps; t++)
            cells[t] = cell = update.select(1, t).addcmul(forget.select(1, t), cell, KeptScalars.One);
        var last = tensor(lengths.Select(v => v - 1).ToArray(), device: inputs.device).view(k, 1, 1).expand(k, 1, HiddenSize);
        return stack(cells, 1).gather(1, last).squeeze(1);
    }

    /// <summary>
    /// Flat (row * <paramref name="steps"/> + step) indices of the padding steps a segmented run computes: from each
    /// sequence's length to the end of the segment it ends in. Null when every sequence ends at a segment end.
    /// </summary>
    private static Tensor? PaddingSteps(long[] lengths, long[] ends, long steps, Device device)
    {
        var indices = new List<long>();
        for (int row = 0; row < lengths.Length; row++)
        {
            if (lengths[row] == 0)
                continue;   // never computed: its outputs stay zero
            long segmentEnd = ends.First(end => end >= lengths[row]);
            for (long t = lengths[row]; t < segmentEnd; t++)
                indices.Add(row * steps + t);
        }
        return indices.Count == 0 ? null : tensor(indices.ToArray(), device: device);
    }

    /// <summary>
    /// The final state of a single-state cell from its (N, L, H) <paramref name="outputs"/>: the output at each
    /// sequence's last valid step, or the initial state for an empty sequence.
    /// </summary>
    private Tensor FinalOutput(Tensor outputs, long[] lengths, IReadOnlyList<Tensor> initialState)
    {
        long n = outputs.shape[0];
        var lengthTensor = tensor(lengths, device: outputs.device);
        var lastStep = lengthTensor.sub(KeptScalars.One).clamp_min(KeptScalars.Zero);
        var last = outputs.gather(1, lastStep.view(n, 1, 1).expand(n, 1, HiddenSize)).squeeze(1);
        return where(lengthTensor.eq(KeptScalars.Zero).view(n, 1), initialState[^1], last);
    }

    /// <summary>All N sequences over all L steps of <paramref name="inputs"/> (N, L, H_in), L at least 1.</summary>
    private (Tensor Outputs, Tensor[] FinalState) RunPadded(FusedKernelPath path, Tensor inputs, IReadOnlyList<Tensor> initialState)
    {
        switch (path)
        {
            case FusedKernelPath.StepLoop:
                return RunSteps(inputs, initialState);
            case FusedKernelPath.NativeWithoutOneDnn:
                using (OneDnnSwitch.Off())
                    return RunNative(inputs, initialState);
            default:
                var (outputs, final) = RunNativeAsBefore(inputs, initialState);
                if (FusedKernelChecks.AnyInjectedFault
                    && FusedKernelChecks.HasInjectedFault(new FusedKernelShape(Kind, InputSize, HiddenSize, inputs.dtype, inputs.device_type)))
                    outputs = outputs.Plus(KeptScalars.One);
                return (outputs, final);
        }
    }

    /// <summary>libtorch's kernel with oneDNN as the process has it: an LSTM's call waits while another thread has switched oneDNN off.</summary>
    private (Tensor Outputs, Tensor[] FinalState) RunNativeAsBefore(Tensor inputs, IReadOnlyList<Tensor> initialState)
    {
        if (Kind != FusedKernelKind.Lstm) return RunNative(inputs, initialState);
        using (OneDnnSwitch.AsBefore())
            return RunNative(inputs, initialState);
    }

    /// <summary>The owning cell's step loop over a full batch; final state in our order.</summary>
    private (Tensor Outputs, Tensor[] FinalState) RunSteps(Tensor inputs, IReadOnlyList<Tensor> initialState)
    {
        var prepared = _owner.PrepareInputs(inputs).unbind(1);
        var outputs = new Tensor[prepared.Length];
        var state = initialState.ToArray();
        for (int t = 0; t < prepared.Length; t++)
            (outputs[t], state) = _owner.StepPrepared(prepared[t], state);
        return (stack(outputs, 1), state);
    }

    private (Tensor Outputs, Tensor[] FinalState) RunNative(Tensor inputs, IReadOnlyList<Tensor> initialState)
    {
        var (h0, c0) = ToNative(initialState);
        switch (Module)
        {
            case LSTM lstm:
                {
                    var (o, hN, cN) = lstm.call(inputs, (h0, c0!));
                    return (o, [cN.squeeze(0), hN.squeeze(0)]);
                }
            case GRU gru:
                {
                    var (o, hN) = gru.call(inputs, h0);
                    return (o, [hN.squeeze(0)]);
                }
            case RNN rnn:
                {
                    var (o, hN) = rnn.call(inputs, h0);
                    return (o, [hN.squeeze(0)]);
                }
            default:
                throw new InvalidOperationException("FusedKernel: unknown native module");
        }
    }

    /// <summary>Our (N, H) state tensors to the native (1, N, H) h0 (and c0 for LSTM).</summary>
    private (Tensor H0, Tensor? C0) ToNative(IReadOnlyList<Tensor> state)
        => Kind == FusedKernelKind.Lstm
            ? (state[1].unsqueeze(0), state[0].unsqueeze(0))
            : (state[0].unsqueeze(0), null);
}
