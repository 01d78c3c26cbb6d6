using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

namespace RnnBench;

/// <summary>
/// Figure 14: what a user gets. The defaults as the README and <c>examples/DigitsRows</c> write them (the user sets
/// columns, shapes, a hidden size and an epoch cap), on the project's real data, next to ML.NET's SDCA and LightGbm at
/// their defaults in the same run: test accuracy, Fit time, Transform throughput on the test rows and PredictionEngine
/// p50. One fit each (minutes of training; accuracy does not repeat-average), against SDCA's figures as the reference.
/// </summary>
internal sealed class DefaultsBenchmarks(BenchSettings settings, List<BenchRecord> records, string root)
{
    private sealed class Digit
    {
        [LoadColumn(0, 63), VectorType(64)] public float[] Features { get; set; } = [];
        [LoadColumn(64)] public float Value { get; set; }
    }

    private sealed class Fortune
    {
        [LoadColumn(0)] public string Topic { get; set; } = "";
        [LoadColumn(1)] public string Text { get; set; } = "";
    }

    private sealed class Prediction
    {
        public uint PredictedLabel { get; set; }
    }

    private sealed record Measured(double Seconds, double MacroAccuracy, double MicroAccuracy, Sample Throughput, double[] Latencies);

    /// <summary>Digits read row by row (8 steps of 8 pixels), the DigitsRows split.</summary>
    public void Digits()
    {
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromTextFile<Digit>(Path.Combine(root, "data", "digits.csv"), separatorChar: ',', hasHeader: true);
        var split = ml.Data.TrainTestSplit(rows, testFraction: 0.2, seed: 1);
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Digit.Value)).Append(ml.Transforms.NormalizeMinMax("Features"));
        var testRows = ml.Data.CreateEnumerable<Digit>(split.TestSet, reuseRowObject: false).ToArray();
        Compare(ml, "digits", new BenchConfig(32, 8, 8, 64, Directions: 2, Gru: true), split.TrainSet, split.TestSet, testRows,
            ("SDCA (64 pixels)", prepare.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy())),
            ("LightGbm (64 pixels)", prepare.Append(ml.MulticlassClassification.Trainers.LightGbm())),
            ("SequenceClassifier defaults (DigitsRows)", prepare.Append(ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
            {
                FeaturesPerStep = 8, HiddenSize = 64, MaxEpochs = 30,
            }))));
    }

    /// <summary>The fortune topics: the README's text classifier and encoder pipelines, the test file.</summary>
    public void Topics()
    {
        var ml = new MLContext(seed: 1);
        IDataView Load(string file) => ml.Data.LoadFromTextFile<Fortune>(Path.Combine(root, "data", file), separatorChar: '\t',
            hasHeader: true, allowQuoting: false);
        var (train, test) = (Load("fortune-topics-train.tsv"), Load("fortune-topics-test.tsv"));
        var label = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Fortune.Topic));
        var testRows = ml.Data.CreateEnumerable<Fortune>(test, reuseRowObject: false).ToArray();
        Compare(ml, "topics", new BenchConfig(32, 0, 0, 32, Directions: 2, Gru: true), train, test, testRows,
            ("SDCA (n-grams)", label.Append(ml.Transforms.Text.FeaturizeText("Features", "Text")).AppendCacheCheckpoint(ml)
                .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy())),
            ("LightGbm (n-grams)", label.Append(ml.Transforms.Text.FeaturizeText("Features", "Text")).AppendCacheCheckpoint(ml)
                .Append(ml.MulticlassClassification.Trainers.LightGbm())),
            ("README text classifier", label.Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Text"))
                .Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5, classWeighting: ClassWeighting.InverseFrequency))),
            ("README encoder + n-grams + SDCA", label.Append(ml.Transforms.Text.NormalizeText("Normalized", "Text"))
                .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
                .Append(ml.Transforms.Rnn.BiGruEncoder("Encoding", "Words", labelColumnName: null, hiddenSize: 32, maxEpochs: 4))
                .Append(ml.Transforms.NormalizeLpNorm("Encoding"))
                .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text"))
                .Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
                .AppendCacheCheckpoint(ml)
                .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy())));
    }

    /// <summary>Fits and measures every pipeline; the first (SDCA) is every other one's reference.</summary>
    private void Compare<TRow>(MLContext ml, string task, BenchConfig config, IDataView train, IDataView test, TRow[] testRows,
        params (string Name, IEstimator<ITransformer> Pipeline)[] pipelines) where TRow : class
    {
        var measured = pipelines.Select(p => (p.Name, Measure(ml, p.Pipeline, train, test, testRows))).ToArray();
        var (referenceName, reference) = measured[0];
        foreach (var (name, m) in measured.Skip(1))
        {
            static Sample One(double value) => new(value, value, value, 1);
            Add(BenchRecord.Compare($"14 {task}: {name} vs {referenceName}, macro accuracy", config, One(m.MacroAccuracy), One(reference.MacroAccuracy),
                "macro acc", referenceName, null, true));
            Add(BenchRecord.Compare($"14 {task}: {name} vs {referenceName}, micro accuracy", config, One(m.MicroAccuracy), One(reference.MicroAccuracy),
                "micro acc", referenceName, null, true));
            Add(BenchRecord.Compare($"14 {task}: {name} vs {referenceName}, Fit", config, One(m.Seconds), One(reference.Seconds), "s", referenceName, null, false));
            Add(BenchRecord.Compare($"14 {task}: {name} vs {referenceName}, Transform", config, m.Throughput, reference.Throughput, "rows/s", referenceName, null, true));
            Add(BenchRecord.Latency($"14 {task}: {name} vs {referenceName}, PredictionEngine p50", config, m.Latencies, reference.Latencies, 0.5, null, referenceName));
        }
    }

    private Measured Measure<TRow>(MLContext ml, IEstimator<ITransformer> pipeline, IDataView train, IDataView test, TRow[] testRows) where TRow : class
    {
        var clock = Stopwatch.StartNew();
        var model = pipeline.Fit(train);
        double seconds = clock.Elapsed.TotalSeconds;
        try
        {
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
            void Score()
            {
                using var cursor = model.Transform(test).GetRowCursor(model.GetOutputSchema(test.Schema).Where(c => c.Name == "Score"));
                while (cursor.MoveNext()) { }
            }
            var throughput = Harness.TimeAlternating([Score], settings.Warmup, Math.Max(3, settings.Repetitions / 3), callsPerRepetition: 1)[0]
                .AsRate(testRows.Length);
            using var engine = ml.Model.CreatePredictionEngine<TRow, Prediction>(model);
            int next = 0;
            var latencies = Harness.Latencies(() => engine.Predict(testRows[next++ % testRows.Length]), settings.LatencyCalls / 20, settings.LatencyCalls / 4);
            return new Measured(seconds, metrics.MacroAccuracy, metrics.MicroAccuracy, throughput, latencies);
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }

    private void Add(BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
