using Microsoft.ML.Rnn.Core.Training;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Training;

/// <summary>
/// The training loop's Adam: TorchSharp's updates to the bit, and no scalar freed by a collection while libtorch reads it.
/// </summary>
public class KeptScalarAdamTests
{
    private static (Linear Model, Tensor Input, Tensor Target) Problem(int seed, int size = 5)
    {
        manual_seed(seed);
        return (nn.Linear(size, 3), randn(16, size), randn(16, 3));
    }

    private static void Step(Linear model, optim.Optimizer optimizer, Tensor input, Tensor target)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        nn.functional.mse_loss(model.call(input), target).backward();
        optimizer.step();
    }

    [Fact]
    public void UpdatesAsTorchSharpsAdamBitForBit()
    {
        var (reference, input, target) = Problem(seed: 3);
        var (kept, _, _) = Problem(seed: 3);
        using var referenceOptimizer = optim.Adam(reference.parameters(), lr: 0.01);
        using var keptOptimizer = new KeptScalarAdam(kept.parameters(), 0.01);
        for (int step = 0; step < 25; step++)
        {
            Step(reference, referenceOptimizer, input, target);
            Step(kept, keptOptimizer, input, target);
        }
        foreach (var ((name, expected), (_, actual)) in reference.named_parameters().Zip(kept.named_parameters()))
            Assert.True(expected.eq(actual).all().item<bool>(), $"parameter {name} differs after 25 steps");
        // The state a training checkpoint saves is the same bytes after the optimizer's type name, which starts them.
        byte[] State(Adam optimizer)
        {
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
                optimizer.save_state_dict(writer);
            stream.Position = 0;
            using var reader = new BinaryReader(stream);
            Assert.Equal(optimizer.GetType().Name, reader.ReadString());
            return reader.ReadBytes((int)(stream.Length - stream.Position));
        }
        Assert.Equal(State(referenceOptimizer), State(keptOptimizer));
    }

    /// <summary>
    /// Another thread collecting garbage all along: TorchSharp's Adam, whose scalars only the finalizer frees, failed
    /// here with "Expected false to be true" in 2 of 4 runs (docs/reliability.md); this one holds its scalars through
    /// each call. (Architecture/ImplicitScalarTests is the deterministic guard: the library makes no TorchSharp optimizer.)
    /// </summary>
    [Fact]
    public async Task StepsWhileAnotherThreadCollects()
    {
        var (model, input, target) = Problem(seed: 4, size: 20_000); // long native calls: a wide window for a collection
        using var optimizer = new KeptScalarAdam(model.parameters(), 0.01);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = new byte[64 * 1024];
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        try
        {
            for (int step = 0; step < 3000; step++)
                Step(model, optimizer, input, target);
        }
        finally
        {
            stop.Cancel();
            await collector;
        }
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }
}
