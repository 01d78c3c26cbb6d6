using System.Diagnostics;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// <c>CancelExecution</c> during Fit stops before the next batch; saving never leaves a half-written model
/// (<see cref="RnnModelOperations.SaveAtomically"/>); the same seed on the CPU gives bit-identical weights.
/// </summary>
public sealed class CancellationAndDeterminismTests
{
    [Fact]
    public void CancelExecutionMidEpochStopsWithinAboutOneBatch()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(400, seed: 21, maxSteps: 12));
        var epochTimes = new List<TimeSpan>();
        var options = new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 48, MaxEpochs = 1000, BatchSize = 10, Seed = 1, ValidationFraction = 0,
            EarlyStoppingPatience = null, Progress = new SyncProgress(p => epochTimes.Add(p.Elapsed)),
        };
        var cancelledAt = new Stopwatch();
        var clock = Stopwatch.StartNew();
        // Cancel in the middle of the third epoch (each epoch is 40 batches).
        var canceller = new Thread(() =>
        {
            while (epochTimes.Count < 2) Thread.Sleep(1);
            var perEpoch = epochTimes[1] - epochTimes[0]; // Elapsed is time since the run started
            Thread.Sleep(perEpoch / 2);
            cancelledAt.Start();
            ml.CancelExecution();
        }) { IsBackground = true };
        canceller.Start();
        Assert.ThrowsAny<OperationCanceledException>(() => ml.Transforms.Rnn.SequenceClassifier(options).Fit(data));
        var afterCancel = cancelledAt.Elapsed;
        Assert.True(epochTimes.Count <= 3, $"{epochTimes.Count} epochs reported after cancelling in epoch 3");
        // The host is checked before every batch: the time from cancelling to the exception is one batch plus
        // scheduling noise, far below one epoch (40 batches).
        var batch = (epochTimes[1] - epochTimes[0]) / 40;
        Assert.True(afterCancel < batch * 10 + TimeSpan.FromMilliseconds(250),
            $"stopped {afterCancel.TotalMilliseconds:F0} ms after cancelling; one batch takes about {batch.TotalMilliseconds:F1} ms");
    }

    [Fact]
    public void SaveAtomicallyLeavesNoPartialFileAndKeepsTheOldOne()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(40, seed: 22));
        string folder = Directory.CreateTempSubdirectory("rnn-save-").FullName;
        try
        {
            string path = Path.Combine(folder, "model.zip");
            var good = ReliabilityData.Classifier(ml, data);
            ml.Model.SaveAtomically(good, data.Schema, path);
            byte[] saved = File.ReadAllBytes(path);
            Assert.NotNull(ml.Model.LoadUntrusted(path, out _));

            // A disposed transformer cannot save (its network is gone): the failure happens mid-save.
            good.Dispose();
            Assert.Throws<ObjectDisposedException>(() => ml.Model.SaveAtomically(good, data.Schema, path));
            Assert.Equal(saved, File.ReadAllBytes(path));
            Assert.Equal(new[] { "model.zip" }, Directory.GetFiles(folder).Select(Path.GetFileName));

            // ML.NET's own Model.Save to a path creates the file first: the failed save leaves a broken file behind.
            string plain = Path.Combine(folder, "plain.zip");
            Assert.Throws<ObjectDisposedException>(() => ml.Model.Save(good, data.Schema, plain));
            Assert.True(File.Exists(plain), "ML.NET's behaviour changed: Model.Save no longer leaves a partial file");
            Assert.Throws<InvalidDataException>(() => ml.Model.LoadUntrusted(plain, out _));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void SameSeedGivesBitIdenticalWeights()
    {
        Dictionary<string, int[]> Weights()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(60, seed: 23));
            using var model = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
            {
                FeaturesPerStep = 2, HiddenSize = 8, NumberOfLayers = 2, Dropout = 0.2f, Bidirectional = true, MaxEpochs = 3,
                BatchSize = 8, Seed = 5,
            }).Fit(data);
            return model.Network.named_parameters().ToDictionary(p => p.name,
                p => p.parameter.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray());
        }
        var first = Weights();
        var second = Weights();
        Assert.Equal(first.Keys.Order(), second.Keys.Order());
        foreach (var (name, bits) in first)
            Assert.True(bits.SequenceEqual(second[name]), $"parameter '{name}' differs between two runs with the same seed");

        // A different seed gives different weights (so the comparison above can fail).
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(60, seed: 23));
        using var other = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 8, NumberOfLayers = 2, Dropout = 0.2f, Bidirectional = true, MaxEpochs = 3, BatchSize = 8, Seed = 6,
        }).Fit(data);
        var (firstName, firstBits) = first.First();
        Assert.False(firstBits.SequenceEqual(other.Network.named_parameters().First(p => p.name == firstName).parameter.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits)));
    }

    private sealed class SyncProgress(Action<EpochProgress> report) : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value) => report(value);
    }
}
