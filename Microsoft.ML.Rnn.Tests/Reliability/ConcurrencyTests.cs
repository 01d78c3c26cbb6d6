using Xunit;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// 8 threads, each with its own PredictionEngine, plus concurrent Transform calls on one shared transformer: every
/// result equals single-threaded scoring, bit for bit, and nothing throws.
/// </summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public void EightThreadsShort() => Run(predictionsPerThread: 500);

    [SoakFact, Trait("Category", "Soak")]
    public void EightThreadsSoak() => Run(predictionsPerThread: 10_000);

    private static void Run(int predictionsPerThread)
    {
        var ml = new MLContext(seed: 1);
        var rows = ReliabilityData.Steps(64, seed: 11, maxSteps: 8, minSteps: 0);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ReliabilityData.Classifier(ml, data);
        var inputs = ml.Data.LoadFromEnumerable(rows.Select(r => new ReliabilityData.StepInput { Features = r.Features }));
        var expected = ColumnValues.Read(model.Transform(inputs), "Score").Cast<float>().ToArray();

        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            try
            {
                if (t % 4 == 3)
                {
                    // Two of the eight threads run whole batched Transforms on the shared transformer.
                    for (int pass = 0; pass * rows.Length < predictionsPerThread; pass++)
                    {
                        var scores = ColumnValues.Read(model.Transform(inputs), "Score").Cast<float>().ToArray();
                        for (int i = 0; i < scores.Length; i++)
                            if (BitConverter.SingleToInt32Bits(scores[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                                failures.Enqueue($"transform thread {t}, pass {pass}, row {i}: {scores[i]:R} vs {expected[i]:R}");
                    }
                    return;
                }
                var engine = ml.Model.CreatePredictionEngine<ReliabilityData.StepInput, ReliabilityData.BinaryPrediction>(model);
                for (int n = 0; n < predictionsPerThread; n++)
                {
                    int i = (n * 7 + t) % rows.Length;
                    float score = engine.Predict(new ReliabilityData.StepInput { Features = rows[i].Features }).Score;
                    // Batched and single-row scoring run the same kernels on differently padded batches: equal to
                    // rounding, and each thread must agree with the single-threaded engine bit for bit (checked below).
                    if (Math.Abs(score - expected[i]) > Tolerances.Float32Score)
                        failures.Enqueue($"engine thread {t}, prediction {n}, row {i}: {score:R} vs {expected[i]:R}");
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {t}: {e}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(10)));

        // Single-threaded engine vs the engines that ran concurrently: identical bits.
        var single = ml.Model.CreatePredictionEngine<ReliabilityData.StepInput, ReliabilityData.BinaryPrediction>(model);
        var concurrent = new float[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var engine = ml.Model.CreatePredictionEngine<ReliabilityData.StepInput, ReliabilityData.BinaryPrediction>(model);
            concurrent[t] = rows.Select(r => engine.Predict(new ReliabilityData.StepInput { Features = r.Features }).Score).ToArray();
        });
        var reference = rows.Select(r => single.Predict(new ReliabilityData.StepInput { Features = r.Features }).Score).ToArray();
        foreach (var scores in concurrent)
            Assert.Equal(reference.Select(BitConverter.SingleToInt32Bits), scores.Select(BitConverter.SingleToInt32Bits));
    }
}
