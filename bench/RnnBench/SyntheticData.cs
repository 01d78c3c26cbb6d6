using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>An ML.NET row: a flat sequence of L × H_in Single values and a key label in 1..C.</summary>
internal sealed class SequenceRow
{
    public float[] Features = [];
    public uint Label;
}

/// <summary>PredictionEngine output of the classifier.</summary>
internal sealed class ClassPrediction
{
    public float[] Score = [];
    public uint PredictedLabel { get; set; }
}

/// <summary>Seeded synthetic rows, the same values as ML.NET rows and as pre-built (N, L, H_in) batch tensors.</summary>
internal sealed class SyntheticData
{
    public const int Classes = 4;

    public SyntheticData(BenchConfig config, int rowCount, int seed = 7)
    {
        Config = config;
        var random = new Random(seed);
        Rows = new SequenceRow[rowCount];
        for (int r = 0; r < rowCount; r++)
        {
            var features = new float[config.L * config.InputSize];
            for (int i = 0; i < features.Length; i++) features[i] = (float)(random.NextDouble() * 2 - 1);
            Rows[r] = new SequenceRow { Features = features, Label = (uint)random.Next(1, Classes + 1) };
        }
    }

    public BenchConfig Config { get; }

    public SequenceRow[] Rows { get; }

    /// <summary>Schema with a known-size feature vector and a key label of <see cref="Classes"/> values.</summary>
    public SchemaDefinition Schema()
    {
        var schema = SchemaDefinition.Create(typeof(SequenceRow));
        schema[nameof(SequenceRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Config.L * Config.InputSize);
        schema[nameof(SequenceRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), Classes);
        return schema;
    }

    /// <summary>The rows as an in-memory IDataView.</summary>
    public IDataView ToDataView(MLContext ml) => ml.Data.LoadFromEnumerable(Rows, Schema());

    /// <summary>The rows cut into (N, L, H_in) inputs and (N) 0-based targets, whole batches only; caller owns them.</summary>
    public List<(Tensor X, Tensor Y)> Batches()
    {
        var batches = new List<(Tensor, Tensor)>();
        int n = Config.N;
        for (int start = 0; start + n <= Rows.Length; start += n)
        {
            var flat = new float[n * Config.L * Config.InputSize];
            var targets = new long[n];
            for (int k = 0; k < n; k++)
            {
                Rows[start + k].Features.CopyTo(flat, k * Config.L * Config.InputSize);
                targets[k] = Rows[start + k].Label - 1;
            }
            batches.Add((tensor(flat, [n, Config.L, Config.InputSize]).DetachFromDisposeScope(),
                tensor(targets).DetachFromDisposeScope()));
        }
        return batches;
    }
}
