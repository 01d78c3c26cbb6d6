using Microsoft.ML.Rnn.Core;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Fused;

/// <summary>
/// libtorch 2.10's oneDNN float32 LSTM is wrong on AMD Zen 5 for hidden sizes with H % 32 in 1..16 and right on Zen 4
/// and under <c>DNNL_MAX_CPU_ISA=AVX2</c>. These tests hold on every CPU: they report what this machine's raw kernels
/// do, and require the library's own results to match the float64 equations whatever they do. Machines whose kernels
/// are right still prove the detection, with a simulated fault.
/// </summary>
public class FusedKernelFaultTests(ITestOutputHelper output)
{
    private static readonly long[] s_lengths = [9, 4, 0, 9, 1, 6, 2, 9];

    /// <summary>Raw nn.LSTM against its equations for hidden sizes the Zen 5 fault hits (and two it spares); the library's
    /// path is right either way, and where the raw kernel is wrong the check must have said so.</summary>
    [Fact]
    public void RawLstmKernelIsReportedAndTheLibraryIsRightEitherWay()
    {
        using var policy = FusedKernelChecks.Use(FusedKernelPolicy.Verify);
        var faulty = new List<long>();
        foreach (long hidden in new long[] { 6, 16, 40, 100, 128, 200 })
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var cell = new LstmCell(8, hidden);
            var (inputs, initial) = Batch(cell, 8, seed: (int)hidden);
            var expected = Reference(cell, FusedKernelKind.Lstm, inputs, initial, s_lengths);

            // libtorch's module called directly, as a user of nn.LSTM would: no lengths, full batch.
            var module = (TorchSharp.Modules.LSTM)cell.named_children().Single().module;
            var (rawOut, _, _) = module.call(inputs, (initial[1].unsqueeze(0), initial[0].unsqueeze(0)));
            var rawExpected = Reference(cell, FusedKernelKind.Lstm, inputs, initial, Enumerable.Repeat(inputs.shape[1], (int)inputs.shape[0]).ToArray());
            double rawError = MaxDifference(rawOut, rawExpected.Outputs);
            if (rawError > Tolerances.Float32Unroll)
                faulty.Add(hidden);

            var library = DynamicUnroller.Unroll(cell, inputs, tensor(s_lengths), initial);
            double libraryError = Math.Max(MaxDifference(library.Outputs, expected.Outputs),
                library.FinalState.Select((s, k) => MaxDifference(s, expected.FinalState[k])).Max());
            var verdict = FusedKernelChecks.Verdicts.Last(v => v.Shape.Kind == FusedKernelKind.Lstm && v.Shape.HiddenSize == hidden && v.Shape.InputSize == 8);
            output.WriteLine($"hidden {hidden,3}: raw nn.LSTM off by {rawError:G3} ({(rawError > Tolerances.Float32Unroll ? "WRONG" : "right")}), " +
                             $"library off by {libraryError:G3} via {verdict.Chosen}{(FusedKernelChecks.HasInjectedFault(verdict.Shape) ? " (fault simulated)" : "")}");
            Assert.True(libraryError <= Tolerances.Float32Unroll, $"hidden {hidden}: the library is off by {libraryError:G3} ({verdict.Chosen})");
            Assert.Equal(rawError > Tolerances.Float32Unroll || FusedKernelChecks.HasInjectedFault(verdict.Shape), verdict.NativeIsWrong);
        }
        output.WriteLine($"CPU: {FusedKernelChecks.Cpu}; raw kernel wrong for hidden {(faulty.Count == 0 ? "none" : string.Join(", ", faulty))}");
    }

    /// <summary>With fused kernels off, every built-in fusable cell matches its equations on ragged lengths.</summary>
    [Theory]
    [InlineData(FusedKernelKind.Lstm)]
    [InlineData(FusedKernelKind.Gru)]
    [InlineData(FusedKernelKind.RnnTanh)]
    [InlineData(FusedKernelKind.RnnRelu)]
    public void NeverFusedIsRightOnEveryMachine(FusedKernelKind kind)
    {
        using var policy = FusedKernelChecks.Use(FusedKernelPolicy.Never);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cell = Cell(kind, 5, 12);
        var (inputs, initial) = Batch(cell, 5, seed: 3);
        var expected = Reference(cell, kind, inputs, initial, s_lengths);
        var result = DynamicUnroller.Unroll(cell, inputs, tensor(s_lengths), initial);
        TensorAssert.Close(expected.Outputs, result.Outputs, Tolerances.Float32Unroll, "outputs");
        for (int k = 0; k < expected.FinalState.Length; k++)
            TensorAssert.Close(expected.FinalState[k], result.FinalState[k], Tolerances.Float32Unroll, $"final state {k}");
        Assert.DoesNotContain(FusedKernelChecks.Verdicts, v => v.Shape.Kind == kind && v.Shape.InputSize == 5 && v.Shape.HiddenSize == 12);
    }

    /// <summary>
    /// A simulated fault (libtorch's kernel returns outputs off by one) for shapes no other test uses: detected on the
    /// first call, one warning naming the CPU and the shape, results right in scoring and in training (with gradients),
    /// no second warning; and <see cref="FusedKernelPolicy.Trust"/> really runs the kernel unchecked.
    /// </summary>
    [Theory]
    [InlineData(FusedKernelKind.Lstm, 3, 29)]
    [InlineData(FusedKernelKind.Gru, 3, 27)]
    public void InjectedFaultIsDetectedReportedAndAvoided(FusedKernelKind kind, long inputSize, long hidden)
    {
        var shape = new FusedKernelShape(kind, inputSize, hidden, ScalarType.Float32, DeviceType.CPU);
        FusedKernelChecks.InjectFaultForTests(s => s == shape);
        var warnings = new List<string>();
        using var scope = NewDisposeScope();
        using var cell = Cell(kind, inputSize, hidden);
        var (inputs, initial) = Batch(cell, inputSize, seed: 11);
        var expected = Reference(cell, kind, inputs, initial, s_lengths);

        using (FusedKernelChecks.Use(FusedKernelPolicy.Verify, warnings.Add))
        {
            using (no_grad())
            {
                var scored = DynamicUnroller.Unroll(cell, inputs, tensor(s_lengths), initial);
                TensorAssert.Close(expected.Outputs, scored.Outputs, Tolerances.Float32Unroll, "scoring outputs");
            }
            var x = inputs.detach().requires_grad_();
            var trained = DynamicUnroller.Unroll(cell, x, tensor(s_lengths), initial);
            TensorAssert.Close(expected.Outputs, trained.Outputs, Tolerances.Float32Unroll, "training outputs");
            var grads = autograd.grad([trained.Outputs.sum()], [x, cell.parameters().First()]);
            using (FusedKernelChecks.Use(FusedKernelPolicy.Never))
            {
                var steps = DynamicUnroller.Unroll(cell, x, tensor(s_lengths), initial);
                var stepGrads = autograd.grad([steps.Outputs.sum()], [x, cell.parameters().First()]);
                TensorAssert.Close(stepGrads[0], grads[0], Tolerances.Float32Gradient, "input gradients");
                TensorAssert.Close(stepGrads[1], grads[1], Tolerances.Float32Gradient, "weight gradients");
            }
            using (no_grad())
                DynamicUnroller.Unroll(cell, inputs, tensor(s_lengths), initial);
        }

        var warning = Assert.Single(warnings);
        output.WriteLine(warning);
        Assert.Contains($"{shape} kernel computes wrong values", warning);
        Assert.Contains(FusedKernelChecks.Cpu, warning);
        var verdicts = FusedKernelChecks.Verdicts.Where(v => v.Shape == shape).ToArray();
        Assert.Equal(2, verdicts.Length);   // one for scoring, one for training
        Assert.All(verdicts, v => Assert.True(v.NativeIsWrong && v.Chosen != FusedKernelPath.Native, $"{v.Chosen}"));
        Assert.All(verdicts, v => Assert.InRange(v.Checks.Single(c => c.Path == FusedKernelPath.Native).Error, 0.5, 2));

        using (FusedKernelChecks.Use(FusedKernelPolicy.Trust))
        using (no_grad())
        {
            var trusted = DynamicUnroller.Unroll(cell, inputs, tensor(s_lengths), initial);
            Assert.True(MaxDifference(trusted.Outputs, expected.Outputs) > 0.5, "Trust must run libtorch's kernel unchecked");
        }
    }

    /// <summary>Timing only chooses among right ways, and every right way is timed; without timing libtorch's kernel is
    /// kept when it is right.</summary>
    [Fact]
    public void TimingChoosesAmongRightWaysOnly()
    {
        using var scope = NewDisposeScope();
        using var cell = new LstmCell(4, 22);
        var (inputs, initial) = Batch(cell, 4, seed: 5);
        using (FusedKernelChecks.Use(FusedKernelPolicy.Verify))
        using (no_grad())
            DynamicUnroller.Unroll(cell, inputs, tensor(s_lengths), initial);
        var timed = FusedKernelChecks.Verdicts.Last(v => v.Shape.InputSize == 4 && v.Shape.HiddenSize == 22 && !v.Training);
        Assert.True(timed.Checks.Single(c => c.Path == timed.Chosen).IsRight);
        Assert.All(timed.Checks, c => Assert.Equal(c.IsRight && timed.Checks.Count(r => r.IsRight) > 1, c.Milliseconds is not null));
        Assert.Equal((8L, 9L), timed.TimingBatch);

        using var other = new LstmCell(4, 21);
        using (FusedKernelChecks.Use(FusedKernelPolicy.VerifyWithoutTiming))
        using (no_grad())
            DynamicUnroller.Unroll(other, inputs, tensor(s_lengths), Batch(other, 4, seed: 5).Initial);
        var untimed = FusedKernelChecks.Verdicts.Last(v => v.Shape.InputSize == 4 && v.Shape.HiddenSize == 21 && !v.Training);
        Assert.Null(untimed.TimingBatch);
        Assert.All(untimed.Checks, c => Assert.Null(c.Milliseconds));
        Assert.Equal(untimed.Checks.First(c => c.IsRight).Path, untimed.Chosen);
    }

    /// <summary>
    /// The verdict holds for every model of a shape: the check runs on a twin with weights of its own, so a model whose
    /// weights are not even finite (a damaged zip) neither fails the check nor decides it, and the check leaves
    /// libtorch's random generator where it was (a seeded run computes the same whether or not a check ran in it).
    /// </summary>
    [Fact]
    public void ChecksUseTheirOwnWeightsAndLeaveTheRandomGeneratorAlone()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cell = new LstmCell(7, 19);
        foreach (var p in cell.parameters())
            p.fill_(float.NaN);
        var x = rand(3, 4, 7);
        manual_seed(123);
        var expected = rand(5);
        manual_seed(123);
        var outputs = DynamicUnroller.Unroll(cell, x).Outputs;   // first call of this shape: the check runs here
        var drawn = rand(5);
        Assert.True(outputs.isnan().all().item<bool>());
        Assert.Equal(expected.data<float>().ToArray(), drawn.data<float>().ToArray());
        var verdict = FusedKernelChecks.Verdicts.Last(v => v.Shape.InputSize == 7 && v.Shape.HiddenSize == 19);
        Assert.All(verdict.Checks, c => Assert.True(c.IsRight || FusedKernelChecks.HasInjectedFault(verdict.Shape), $"{c.Path} off by {c.Error}"));
    }

    [Fact]
    public void TheEnvironmentVariableNamesAPolicyInAnyCaseOrFailsClearly()
    {
        Assert.Equal(FusedKernelPolicy.VerifyWithoutTiming, FusedKernelChecks.ParsePolicy(null));
        Assert.Equal(FusedKernelPolicy.VerifyWithoutTiming, FusedKernelChecks.ParsePolicy(" "));
        Assert.Equal(FusedKernelPolicy.Verify, FusedKernelChecks.ParsePolicy("verify"));
        Assert.Equal(FusedKernelPolicy.VerifyWithoutTiming, FusedKernelChecks.ParsePolicy("verifywithouttiming"));
        Assert.Equal(FusedKernelPolicy.Never, FusedKernelChecks.ParsePolicy(" NEVER "));
        foreach (string bad in new[] { "2", "sometimes", "Trust,Never" })
        {
            var error = Assert.Throws<InvalidOperationException>(() => FusedKernelChecks.ParsePolicy(bad));
            Assert.Equal($"FusedKernelChecks: the environment variable MICROSOFT_ML_RNN_FUSED_KERNELS is '{bad}'; " +
                         "expected one of Verify, VerifyWithoutTiming, Trust, Never.", error.Message);
        }
    }

    private static RnnCell Cell(FusedKernelKind kind, long inputSize, long hidden) => kind switch
    {
        FusedKernelKind.Lstm => new LstmCell(inputSize, hidden),
        FusedKernelKind.Gru => new GruCell(inputSize, hidden),
        FusedKernelKind.RnnTanh => new SimpleRnnCell(inputSize, hidden),
        _ => new SimpleRnnCell(inputSize, hidden, SimpleRnnActivation.Relu),
    };

    private static (Tensor Inputs, Tensor[] Initial) Batch(RnnCell cell, long inputSize, int seed)
    {
        var generator = new Generator((ulong)seed);
        long n = s_lengths.Length;
        var inputs = rand(n, 9, inputSize, generator: generator) * 2 - 1;
        var initial = cell.StateSizes.Select(size => rand(n, size, generator: generator) - 0.5).ToArray();
        return (inputs, initial);
    }

    /// <summary>The cell's kernel equations in float64 (<see cref="KernelReference"/>), cast back to float32.</summary>
    private static (Tensor Outputs, Tensor[] FinalState) Reference(RnnCell cell, FusedKernelKind kind, Tensor inputs, Tensor[] initial, long[] lengths)
    {
        using var noGrad = no_grad();
        var weights = cell.parameters().Select(p => p.detach().to(ScalarType.Float64)).ToArray();   // ih, hh, bias ih, bias hh
        var (outputs, final) = KernelReference.Unroll(kind, weights, inputs.detach().to(ScalarType.Float64), lengths,
            initial.Select(s => s.detach().to(ScalarType.Float64)).ToArray());
        return (outputs.to(ScalarType.Float32), final.Select(s => s.to(ScalarType.Float32)).ToArray());
    }

    private static double MaxDifference(Tensor a, Tensor b) => (a.detach() - b.detach()).abs().max().item<float>();
}
