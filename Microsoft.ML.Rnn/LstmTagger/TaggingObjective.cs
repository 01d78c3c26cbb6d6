using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains <see cref="LstmTagger"/>'s network (encoder, dropout, per-token linear layer, optional CRF) on a vector of
/// tag keys aligned with the tokens: per-token cross-entropy weighted by tag frequency (or the CRF's likelihood),
/// validated on macro-F1 over the tags or on token accuracy.
/// </summary>
internal sealed class TaggingObjective(LstmTagger.Options options) : TrainingObjective
{
    private const string Component = LstmTagger.ComponentName;
    private SequenceDataSet<SequenceRows>? _train, _validation;
    private SequenceTaggerEnsemble? _network;

    /// <summary>The training data's tag column (known after <see cref="Read"/>).</summary>
    public LabelColumn Label { get; private set; } = null!;

    public override void Read(IHost host, IDataView input, SequenceColumn features, IDataView? validationData, SequenceColumn? validationFeatures)
    {
        (Label, var tags) = LabelColumn.BindTags(input.Schema, options.LabelColumnName, options.MaxSequenceLength, nameof(input), Component);
        _train = ReadTagged(host, input, features, tags);
        if (_train.Rows.Count == 0)
            throw new InvalidOperationException($"{Component}: the training data has no rows.");
        if (validationData is not null)
        {
            var (validationLabel, validationTags) = LabelColumn.BindTags(validationData.Schema, options.LabelColumnName,
                options.MaxSequenceLength, nameof(validationData), Component);
            Label.CheckSameAs(validationLabel, nameof(validationData));
            _validation = ReadTagged(host, validationData, validationFeatures!, validationTags);
        }
    }

    public override torch.nn.Module CreateNetwork(SequenceEncoder encoder)
        => _network = SequenceTaggerEnsemble.Create(encoder, options.EnsembleSize, Label.ClassCount, options.UseCrf, options.Dropout);

    public override void Train(TrainingSetup setup, torch.Device device)
    {
        int tagCount = (int)Label.ClassCount;
        torch.Tensor? tagWeights;
        using (var ch = setup.Host.Start("Tag weights"))
            tagWeights = TagWeights(options.ResolvedTagWeighting, _train!.Targets, tagCount, ch)?.to(device);
        EnsembleTraining.TrainMembers(setup, _network!.Members, device,
            (member, network) => TrainMember(member, network, tagWeights, tagCount, device));
    }

    private void TrainMember(TrainingSetup setup, SequenceTaggerNetwork network, torch.Tensor? tagWeights, int tagCount, torch.Device device)
    {
        bool macroF1 = options.ValidationMetric == TaggerValidationMetric.MacroF1;
        SequenceTrainingDriver.Train(setup with { MetricName = macroF1 ? "macro-F1" : "token accuracy", HigherIsBetter = true },
            _train!, _validation,
            (set, rows) =>
            {
                var gold = set.Targets.MakeBatch(rows).Data;
                return network.Loss(set.Rows.MakeBatch(rows).To(device), gold.to(device), tagWeights);
            },
            (set, rows) =>
            {
                var batch = set.Rows.MakeBatch(rows);
                var gold = set.Targets.MakeBatch(rows).Data;
                var predicted = network.Predict(batch.To(device));
                var valid = LengthMask.Valid(batch.LengthsOrFull(), predicted.shape[1], predicted.device);
                long correct = predicted.eq(gold).logical_and(valid).sum().item<long>();
                return (correct, batch.LengthValues.Sum());
            },
            !macroF1 ? null : (set, batches) =>
            {
                var counts = new TagCounts(tagCount);
                foreach (var rows in batches)
                {
                    using var scope = torch.NewDisposeScope();
                    var batch = set.Rows.MakeBatch(rows);
                    counts.Add(network.Predict(batch.To(device)), set.Targets.MakeBatch(rows).Data, batch.LengthsOrFull());
                }
                return counts.MacroF1();
            });
    }

    /// <summary>Per-tag counts of correct, predicted and gold tokens, for macro-F1 over a whole validation set.</summary>
    public sealed class TagCounts(int tagCount)
    {
        private readonly long[] _correct = new long[tagCount], _predicted = new long[tagCount], _gold = new long[tagCount];

        /// <summary>Adds a batch: predicted and gold tags (N, L) int64, lengths (N).</summary>
        public void Add(torch.Tensor predicted, torch.Tensor gold, torch.Tensor lengths)
        {
            long width = predicted.shape[1];
            var p = predicted.cpu().data<long>().ToArray();
            var g = gold.cpu().data<long>().ToArray();
            var lens = lengths.cpu().data<long>().ToArray();
            for (int r = 0; r < lens.Length; r++)
            {
                for (long t = 0; t < lens[r]; t++)
                {
                    long pi = p[r * width + t], gi = g[r * width + t];
                    _predicted[pi]++;
                    _gold[gi]++;
                    if (pi == gi) _correct[pi]++;
                }
            }
        }

        /// <summary>The macro-F1 of <see cref="TaggingEvaluator"/> over the tags that were predicted or gold at least once (0 if none).</summary>
        public double MacroF1() => TagMetrics.MacroF1(Enumerable.Range(0, _gold.Length).Where(k => _predicted[k] + _gold[k] > 0)
            .Select(k => TagMetrics.From(_correct[k], _predicted[k], _gold[k])));
    }

    /// <summary>The (T) loss weights of <paramref name="weighting"/> from the training tokens' tag counts; null for <see cref="ClassWeighting.None"/>.</summary>
    public static torch.Tensor? TagWeights(ClassWeighting weighting, SequenceRows tags, int tagCount, IChannel? ch)
    {
        if (weighting == ClassWeighting.None) return null;
        var counts = new long[tagCount];
        using (torch.NewDisposeScope())
        {
            var batch = tags.MakeBatch(Enumerable.Range(0, tags.Count).ToArray());
            var ids = batch.Data.data<long>().ToArray();
            var lens = batch.LengthValues;
            long width = batch.Steps;
            for (int r = 0; r < lens.Length; r++)
                for (long t = 0; t < lens[r]; t++)
                    counts[ids[r * width + t]]++;
        }
        return torch.tensor(ClassWeights.From(weighting, counts, ch, $"{LstmTagger.ComponentName}: tag weights")!);
    }

    /// <summary>Reads every row's tokens and 0-based tags, which must be as many as the tokens.</summary>
    private static SequenceDataSet<SequenceRows> ReadTagged(IHost host, IDataView data, SequenceColumn features, SequenceColumn tags)
    {
        var rows = new SequenceRows(features);
        var targets = new SequenceRows(tags);
        using var cursor = data.GetRowCursor(new[] { data.Schema[features.Index], data.Schema[tags.Index] });
        // Missing feature keys (unknown tokens) get their own embedding row; a missing tag cannot be trained on.
        var featureReader = new SequenceColumnReader(cursor, features, MissingKeyHandling.MapToUnknownIndex);
        var tagReader = new SequenceColumnReader(cursor, tags, MissingKeyHandling.Throw);
        while (cursor.MoveNext())
        {
            host.CheckAlive();
            rows.AddCurrent(featureReader);
            targets.AddCurrent(tagReader);
            // Compared before truncation to MaxSequenceLength, which would hide a mismatch past the limit.
            int tokens = featureReader.LastFullSteps, labels = tagReader.LastFullSteps;
            if (tokens != labels)
            {
                throw new InvalidOperationException(
                    $"{LstmTagger.ComponentName}: row {cursor.Position} has {tokens} steps in feature column '{features.Name}' but {labels} tags " +
                    $"in label column '{tags.Name}'; each token needs exactly one tag.");
            }
        }
        return new SequenceDataSet<SequenceRows>(rows, targets);
    }
}
