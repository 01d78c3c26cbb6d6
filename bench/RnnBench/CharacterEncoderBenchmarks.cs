using Microsoft.ML.Rnn.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>
/// 11: a training step (forward and backward) of the package's <see cref="CharacterEncoder"/> against the
/// straightforward formulation of the same character CNN with the same weights (masked_fill on the full tensors, every
/// step of the batch read, padding steps included), on the fortune topics' training texts batched as the components
/// batch them (rows of similar length, 32 to a batch, padded to the longest row and the longest token).
/// </summary>
internal sealed class CharacterEncoderBenchmarks(BenchSettings settings, List<BenchRecord> records, string root)
{
    private const int BatchSize = 32, EmbeddingSize = 16, Features = 32;
    private static readonly Scalar Zero = 0.0.ToScalar(), NegativeInfinity = double.NegativeInfinity.ToScalar();

    public void TrainingStep()
    {
        var texts = File.ReadLines(Path.Combine(root, "data", "fortune-topics-train.tsv")).Skip(1)
            .Select(line => line[(line.IndexOf('\t') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .OrderBy(words => words.Length).ToArray();
        var vocabulary = TokenVocabulary.Build(texts.SelectMany(words => words), minimumWordCount: 2);
        // Batches spread over the length range, as an epoch's batches are.
        int batchCount = settings.Quick ? 8 : 24;
        var batches = Enumerable.Range(0, batchCount)
            .Select(b => CharacterBatch(vocabulary, texts.Skip(b * (texts.Length - BatchSize) / (batchCount - 1)).Take(BatchSize).ToArray()))
            .ToArray();
        manual_seed(1);
        using var encoder = new CharacterEncoder(vocabulary.CharacterCount, EmbeddingSize, Features);
        var parameters = encoder.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        try
        {
            // The two must compute the same features, or the comparison says nothing.
            using (no_grad())
            {
                foreach (var (ids, _) in batches)
                {
                    using var scope = NewDisposeScope();
                    double difference = (encoder.call(ids) - Straightforward(parameters, ids)).abs().max().item<float>();
                    if (difference > 1e-5)
                        throw new InvalidOperationException($"figure 11: the two character encoders differ by {difference}.");
                }
            }
            void Step(Func<Tensor, Tensor> features)
            {
                foreach (var (ids, weights) in batches)
                {
                    using var scope = NewDisposeScope();
                    encoder.zero_grad();
                    (features(ids) * weights).sum().backward();
                }
            }
            var (package, straightforward) = Harness.TimeAlternating(() => Step(ids => encoder.call(ids)), () => Step(ids => Straightforward(parameters, ids)),
                settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
            double steps = batches.Average(b => b.Ids.shape[1]), width = batches.Average(b => b.Ids.shape[2]);
            var record = BenchRecord.Compare($"11 character encoder, training step: package vs masked_fill over every step (mean L {steps:F0}, W {width:F0})",
                new BenchConfig(BatchSize, (int)Math.Round(steps), EmbeddingSize, Features), package.Scaled(1e3 / batches.Length),
                straightforward.Scaled(1e3 / batches.Length), "ms/batch", "masked_fill, every step", 1.0, false);
            records.Add(record);
            Report.PrintRow(record);
        }
        finally
        {
            foreach (var (ids, weights) in batches) { ids.Dispose(); weights.Dispose(); }
        }
    }

    /// <summary>(N, L, W) character ids of <paramref name="rows"/> padded with zeros, and random output weights for a loss.</summary>
    private static (Tensor Ids, Tensor Weights) CharacterBatch(TokenVocabulary vocabulary, string[][] rows)
    {
        var tokens = rows.Select(words => words.Select(w => vocabulary.CharacterIds(w)).ToArray()).ToArray();
        int steps = tokens.Max(t => t.Length), width = Math.Max(1, tokens.SelectMany(t => t).Max(c => c.Length));
        var data = new long[rows.Length * steps * width];
        for (int i = 0; i < tokens.Length; i++)
            for (int t = 0; t < tokens[i].Length; t++)
                for (int c = 0; c < tokens[i][t].Length; c++)
                    data[((long)i * steps + t) * width + c] = tokens[i][t][c];
        return (tensor(data, [rows.Length, steps, width]), randn(rows.Length, steps, Features));
    }

    /// <summary>The character CNN as first written: every step read, masks by masked_fill on the full tensors.</summary>
    private static Tensor Straightforward(Dictionary<string, Tensor> parameters, Tensor characters)
    {
        long n = characters.shape[0], l = characters.shape[1], w = characters.shape[2];
        var ids = characters.reshape(n * l, w);
        var padding = ids.eq(Zero);
        var embedded = parameters["character_embedding.weight"].index_select(0, ids.flatten()).reshape(n * l, w, EmbeddingSize)
            .masked_fill(padding.unsqueeze(2), Zero);
        var padded = nn.functional.pad(embedded, [0, 0, 1, 1]);
        var windows = cat([padded.narrow(1, 0, w), padded.narrow(1, 1, w), padded.narrow(1, 2, w)], 2);
        var responses = nn.functional.linear(windows, parameters["filters.weight"], parameters["filters.bias"])
            .masked_fill(padding.unsqueeze(2), NegativeInfinity);
        var pooled = responses.amax([1]).masked_fill(padding.all(1, keepdim: true), Zero);
        return pooled.tanh().reshape(n, l, Features);
    }
}
