using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Runtime;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// The components under <see cref="FusedKernelPolicy"/>: a wrong libtorch kernel (simulated for a shape no other test
/// uses) is reported in the MLContext's log once and avoided in Fit and Transform, so the scores equal the step
/// loop's; a loaded model follows the process's policy, and Trust shows the fault.
/// </summary>
public sealed class FusedKernelPolicyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-kernel-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class Row
    {
        [VectorType(15)] public float[] Features = [];
        public bool Label;
    }

    [Fact]
    public void WrongKernelIsLoggedOnceAndAvoidedInFitAndTransform()
    {
        var shape = new FusedKernelShape(FusedKernelKind.Lstm, 5, 23, TorchSharp.torch.ScalarType.Float32, TorchSharp.DeviceType.CPU);
        FusedKernelChecks.InjectFaultForTests(s => s == shape);
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Kind == ChannelMessageKind.Warning && e.Message.Contains(shape.ToString()))
                lock (warnings) warnings.Add(e.Message);
        };
        var random = new Random(4);
        var rows = Enumerable.Range(0, 120).Select(_ =>
        {
            var features = Enumerable.Range(0, 15).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return new Row { Features = features, Label = features.Sum() > 0 };
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);

        using var model = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 5, HiddenSize = 23, MaxEpochs = 2, Seed = 3, Cell = RnnCellKind.Lstm(),
        }).Fit(data);
        var verified = Scores(model.Transform(data));
        Assert.Single(warnings);
        Assert.Contains(FusedKernelChecks.Cpu, warnings[0]);

        string path = Path.Combine(_directory, "model.zip");
        ml.Model.Save(model, data.Schema, path);
        float[] ScoresOfLoaded(FusedKernelPolicy policy)
        {
            using var scope = FusedKernelChecks.Use(policy);
            var loaded = ml.Model.Load(path, out _);
            try { return Scores(loaded.Transform(data)); }
            finally { (loaded as IDisposable)?.Dispose(); }
        }

        var stepLoop = ScoresOfLoaded(FusedKernelPolicy.Never);
        Assert.Equal(stepLoop, verified, Tolerances.Within(Tolerances.Float32Score));
        var trusted = ScoresOfLoaded(FusedKernelPolicy.Trust);
        Assert.True(trusted.Zip(stepLoop).Max(p => Math.Abs(p.First - p.Second)) > 0.01, "Trust must score with the (faulty) kernel");
        Assert.Single(warnings);   // reported once per process, not per Fit, Transform or load
    }

    private static float[] Scores(IDataView scored) => scored.GetColumn<float>("Score").ToArray();
}
