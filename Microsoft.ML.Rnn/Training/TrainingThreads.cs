using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Training;

/// <summary>
/// libtorch's intra-op thread count while a component trains. libtorch's own default is one thread per core, with
/// OpenMP workers that spin while they wait; when anything else computes on those cores (a second process, ML.NET's
/// own threads, another training) the spinning workers slow each other down by 10–100× (docs/performance.md). The
/// setting is process-wide, so it is applied for the duration of the training run and restored afterwards.
/// </summary>
internal static class TrainingThreads
{
    /// <summary>The thread count used when <see cref="RnnOptionsBase.NumberOfThreads"/> is null: all cores but one,
    /// and one on machines with one or two cores, so one core stays free for ML.NET's data pipeline and other work.</summary>
    public static int Default(int processorCount) => Math.Max(1, processorCount - 1);

    /// <summary>Sets libtorch's thread count for the lifetime of the returned scope; disposing it restores the previous count.</summary>
    public static IDisposable Use(int? requested)
    {
        int previous = get_num_threads();
        int threads = requested ?? Default(Environment.ProcessorCount);
        if (threads != previous) set_num_threads(threads);
        return new Restore(previous, threads);
    }

    private sealed class Restore(int previous, int applied) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (applied != previous) set_num_threads(previous);
        }
    }
}
