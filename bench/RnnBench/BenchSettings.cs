namespace RnnBench;

/// <summary>How much work each benchmark does: the full run or the quick (under a minute) smoke run.</summary>
internal sealed record BenchSettings(bool Quick, int Warmup, int Repetitions, int Epochs, int BatchesPerEpoch,
    int LatencyCalls, int MemoryTrainingSteps, int MemoryPredictions, IReadOnlyList<BenchConfig> FixedConfigs)
{
    /// <summary>The fixed-length configurations of the speed issue.</summary>
    public static readonly BenchConfig Config1 = new(64, 50, 64, 128);
    public static readonly BenchConfig Config2 = new(64, 200, 64, 128);
    public static readonly BenchConfig Config3 = new(32, 100, 128, 256);
    public static readonly BenchConfig Config4 = new(1, 50, 64, 128);

    /// <summary>Config 1 with the classifier's default cell: a bidirectional GRU (figures 1 and 2 run it next to the LSTM).</summary>
    public static readonly BenchConfig DefaultCell = Config1 with { Directions = 2, Gru = true };

    /// <summary>Hidden sizes libtorch 2.10's oneDNN LSTM gets wrong on AMD Zen 5 (H % 32 in 1..16), config 1 otherwise.</summary>
    public static readonly BenchConfig[] AffectedConfigs = [new(64, 50, 64, 100), new(64, 50, 64, 200)];

    /// <summary>Variable lengths uniform in [5, 50], padded to 50.</summary>
    public static readonly BenchConfig VariableConfig = new(64, 50, 64, 128, VariableLengths: true);

    public static BenchSettings Full { get; } = new(false, Warmup: 2, Repetitions: 10, Epochs: 1, BatchesPerEpoch: 8,
        LatencyCalls: 2000, MemoryTrainingSteps: 1000, MemoryPredictions: 100_000, [Config1, Config2, Config3, Config4]);

    public static BenchSettings QuickRun { get; } = new(true, Warmup: 1, Repetitions: 5, Epochs: 1, BatchesPerEpoch: 4,
        LatencyCalls: 500, MemoryTrainingSteps: 300, MemoryPredictions: 10_000, [Config1]);

    /// <summary>Rows of one epoch: whole batches; batch-1 configs get 32 rows so an epoch is not a handful of steps.</summary>
    public int RowsPerEpoch(BenchConfig c) => c.N == 1 ? (Quick ? 8 : 32) : c.N * BatchesPerEpoch;
}
