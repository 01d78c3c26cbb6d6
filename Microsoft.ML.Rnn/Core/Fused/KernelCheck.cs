using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// The measurements behind <see cref="FusedKernelChecks"/>: each way of computing a kernel against the float64
/// reference, and the time each right way takes. Inputs come from <see cref="Random"/> with a fixed seed, never from
/// libtorch's generator (a seeded run must compute the same whether or not a check ran before it). The kernel is a
/// twin of the one in use (<see cref="Twin"/>), never a model's own.
/// </summary>
internal static class KernelCheck
{
    // Ragged lengths in no order, with an empty and a one-step sequence: the segmented path then runs the kernel on
    // several batch sizes and, for an LSTM, recomputes cell states of sequences ending inside a segment.
    private static readonly long[] s_lengths = [7, 3, 0, 7, 1, 5];
    private const long Steps = 7;

    /// <summary>
    /// A new cell of <paramref name="kernel"/>'s kind and shape with weights of its own (fixed-seed, uniform in
    /// ±1/sqrt(H), as libtorch initialises them): a check must neither depend on nor touch a model's weights, which may
    /// be anything (a damaged zip's are not even finite). Building a module draws its initialisation from libtorch's
    /// generator, whose state is put back.
    /// </summary>
    public static RnnCell Twin(FusedKernel kernel, ScalarType dtype, Device device)
    {
        var state = torch.random.get_rng_state();
        RnnCell twin;
        try
        {
            twin = kernel.Kind switch
            {
                FusedKernelKind.Lstm => new LstmCell(kernel.InputSize, kernel.HiddenSize, device: device, dtype: dtype),
                FusedKernelKind.Gru => new GruCell(kernel.InputSize, kernel.HiddenSize, device: device, dtype: dtype),
                FusedKernelKind.RnnTanh => new SimpleRnnCell(kernel.InputSize, kernel.HiddenSize, SimpleRnnActivation.Tanh, device, dtype),
                _ => new SimpleRnnCell(kernel.InputSize, kernel.HiddenSize, SimpleRnnActivation.Relu, device, dtype),
            };
        }
        finally
        {
            torch.random.set_rng_state(state);
            state.Dispose();
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var bound = (1 / Math.Sqrt(kernel.HiddenSize)).ToScalar();
        var random = new Random(17);
        foreach (var weight in twin.Kernel!.Weights)
            weight.copy_(Uniform(random, weight.shape, device).mul_(bound));
        return twin;
    }

    /// <summary>Each way's largest difference from the reference in outputs and final states, on a ragged batch and on
    /// a single full-length row.</summary>
    public static double[] ForwardErrors(FusedKernel kernel, FusedKernelPath[] paths)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (inputs, initial, weights, _) = CheckBatch(kernel, s_lengths.Length, Steps);
        var dtype = kernel.WeightIh.dtype;
        var lengths = tensor(s_lengths);
        var reference = KernelReference.Unroll(kernel.Kind, weights, inputs, s_lengths, initial);
        var oneRow = KernelReference.Unroll(kernel.Kind, weights, inputs.narrow(0, 0, 1), [Steps], initial.Select(s => s.narrow(0, 0, 1)).ToArray());
        return paths.Select(path =>
        {
            var ragged = kernel.ForwardOn(path, SequenceBatch.Create(inputs.to(dtype), lengths), initial.Select(s => s.to(dtype)).ToArray());
            var single = kernel.ForwardOn(path, SequenceBatch.Create(inputs.narrow(0, 0, 1).to(dtype)), initial.Select(s => s.narrow(0, 0, 1).to(dtype)).ToArray());
            return Math.Max(Error(ragged, reference), Error(single, oneRow));
        }).ToArray();
    }

    /// <summary>
    /// Each way's largest difference from the reference in the gradients of a weighted sum of outputs and final states
    /// with respect to the weights, the inputs and the initial state, on a small full batch: the backward
    /// kernels are separate code from the forward ones. (Ragged lengths are the forward check's: the gradients of the
    /// padding logic around the kernel are the unit tests'.)
    /// </summary>
    public static double[] GradientErrors(FusedKernel kernel, FusedKernelPath[] paths)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        const long n = 3, steps = 3;
        var (inputs, initial, weights, random) = CheckBatch(kernel, n, steps);
        var dtype = kernel.WeightIh.dtype;
        var outputWeights = Uniform(random, [n, steps, kernel.HiddenSize], inputs.device);
        var stateWeights = kernel.StateCount.Times(() => Uniform(random, [n, kernel.HiddenSize], inputs.device));
        Tensor Loss((Tensor Outputs, Tensor[] Final) r)
            => r.Final.Select((f, k) => (f * stateWeights[k].to(f.dtype)).sum())
                .Aggregate((r.Outputs * outputWeights.to(r.Outputs.dtype)).sum(), (a, b) => a.Plus(b));

        var referenceLeaves = weights.Select(w => w.requires_grad_()).Append(inputs.requires_grad_()).Concat(initial.Select(s => s.requires_grad_())).ToArray();
        var full = Enumerable.Repeat(steps, (int)n).ToArray();
        var referenceGrads = autograd.grad([Loss(KernelReference.Unroll(kernel.Kind, weights, inputs, full, initial))], referenceLeaves);
        return paths.Select(path =>
        {
            var x = inputs.detach().to(dtype).requires_grad_();
            var state = initial.Select(s => s.detach().to(dtype).requires_grad_()).ToArray();
            var leaves = kernel.Weights.Cast<Tensor>().Append(x).Concat(state).ToArray();
            var grads = autograd.grad([Loss(kernel.ForwardOn(path, SequenceBatch.Create(x), state))], leaves);
            return leaves.Select((_, k) => Difference(grads[k], referenceGrads[k])).Max();
        }).ToArray();
    }

    /// <summary>Float64 inputs (N, L, H_in), initial state and a float64 copy of the kernel's weights.</summary>
    private static (Tensor Inputs, Tensor[] Initial, Tensor[] Weights, Random Random) CheckBatch(FusedKernel kernel, long n, long steps)
    {
        var random = new Random(20261202);
        var device = kernel.WeightIh.device;
        var inputs = Uniform(random, [n, steps, kernel.InputSize], device);
        var initial = kernel.StateCount.Times(() => Uniform(random, [n, kernel.HiddenSize], device));
        var weights = kernel.Weights.Select(w => w.detach().to(ScalarType.Float64)).ToArray();
        return (inputs, initial, weights, random);
    }

    /// <summary>
    /// Median milliseconds of one call per way on a full (N, L) batch: forward only, or forward and backward when
    /// training. The ways alternate within each repetition, so that a drift in the machine's speed hits all alike. A
    /// way more than 1.5× slower than the fastest after the first repetition is not timed again (its one time is
    /// returned): it cannot be chosen, and repeating it was most of the timing's cost.
    /// </summary>
    public static double[] Time(FusedKernel kernel, FusedKernelPath[] paths, bool training, long n, long l)
    {
        using var scope = NewDisposeScope();
        var random = new Random(7);
        var dtype = kernel.WeightIh.dtype;
        var device = kernel.WeightIh.device;
        var inputs = Uniform(random, [n, l, kernel.InputSize], device).to(dtype);
        var initial = kernel.StateCount.Times(() => Uniform(random, [n, kernel.HiddenSize], device).to(dtype));
        var weights = kernel.Weights.Cast<Tensor>().ToArray();

        void Call(FusedKernelPath path)
        {
            using var callScope = NewDisposeScope();
            if (!training)
            {
                using var noGrad = no_grad();
                kernel.ForwardOn(path, SequenceBatch.Create(inputs), initial, finalState: false);
                return;
            }
            using var grad = enable_grad();
            var x = inputs.detach().requires_grad_();
            var (outputs, _) = kernel.ForwardOn(path, SequenceBatch.Create(x), initial, finalState: false);
            autograd.grad([outputs.sum()], weights.Append(x).ToArray());
        }

        const int repetitions = 3;
        var times = paths.Select(_ => new List<double>(repetitions)).ToArray();
        foreach (var path in paths)
            Call(path);   // warm-up: first-call allocations and oneDNN's primitive creation
        var clock = new Stopwatch();
        var timed = Enumerable.Range(0, paths.Length).ToList();
        for (int r = 0; r < repetitions; r++)
        {
            foreach (int i in timed)
            {
                clock.Restart();
                Call(paths[i]);
                times[i].Add(clock.Elapsed.TotalMilliseconds);
            }
            if (r == 0)
            {
                double fastest = timed.Min(i => times[i][0]);
                timed.RemoveAll(i => times[i][0] > 1.5 * fastest);
            }
        }
        return times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
    }

    private static double Error((Tensor Outputs, Tensor[] Final) actual, (Tensor Outputs, Tensor[] Final) expected)
        => actual.Final.Select((f, k) => Difference(f, expected.Final[k])).Append(Difference(actual.Outputs, expected.Outputs)).Max();

    /// <summary>max |actual - expected|, relative to expected's largest magnitude when that exceeds 1.</summary>
    private static double Difference(Tensor actual, Tensor expected)
    {
        if (expected.numel() == 0)
            return 0;
        var e = expected.detach();
        double scale = Math.Max(1, e.abs().max().item<double>());
        double difference = (actual.detach().to(ScalarType.Float64) - e).abs().max().item<double>();
        return double.IsNaN(difference) ? double.PositiveInfinity : difference / scale;
    }

    private static Tensor Uniform(Random random, long[] shape, Device device)
    {
        var values = new double[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
            values[i] = 2 * random.NextDouble() - 1;
        return tensor(values, dtype: ScalarType.Float64, device: device).view(shape);
    }

    private static Tensor[] Times(this int count, Func<Tensor> make) => Enumerable.Range(0, count).Select(_ => make()).ToArray();
}
