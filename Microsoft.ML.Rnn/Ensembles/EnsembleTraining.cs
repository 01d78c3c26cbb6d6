using System.Runtime.ExceptionServices;
using Microsoft.ML.Rnn.Training;
using TorchSharp;

namespace Microsoft.ML.Rnn.Ensembles;

/// <summary>
/// Trains an ensemble's networks side by side where cores are free: <see cref="Workers"/> networks at a time, each on
/// one libtorch thread, taking the next untrained network when one finishes. A seed gives the same networks as
/// training them one after the other on one thread: each network's batches and validation rows come from its own
/// seed, and nothing in its training draws from libtorch's random generator (the one generator all threads share) —
/// except dropout, which is why an ensemble with dropout trains one network after the other.
/// </summary>
/// <remarks>
/// Progress reaches the user in the order of a sequential run (every epoch of network 1, then of network 2, …): a
/// later network's reports wait until the networks before it have finished. When a network fails (or the user
/// cancels), the others stop before their next batch and the first failure is thrown.
/// </remarks>
internal static class EnsembleTraining
{
    /// <summary>
    /// How many of <paramref name="members"/> networks train at a time: 1 (one after the other, on the options'
    /// threads) for a single network, with dropout, off the CPU, or when one thread is asked for; otherwise as many
    /// as <see cref="RnnOptionsBase.NumberOfThreads"/> (or the cores) allow.
    /// </summary>
    public static int Workers(RnnOptionsBase options, int members, torch.Device device)
    {
        if (members <= 1 || options.Dropout > 0 || device.type != DeviceType.CPU) return 1;
        return Math.Clamp(options.NumberOfThreads ?? Environment.ProcessorCount, 1, members);
    }

    /// <summary>Trains every network of <paramref name="members"/> with <paramref name="trainMember"/>, given each network's setup.</summary>
    public static void TrainMembers<TMember>(TrainingSetup setup, IReadOnlyList<TMember> members, torch.Device device,
        Action<TrainingSetup, TMember> trainMember) where TMember : torch.nn.Module
    {
        // Every member's setup is made here, on the calling thread (a checkpoint makes its members' records lazily).
        var setups = members.Select((network, m) => setup.ForMember(network, m, members.Count)).ToArray();
        int workers = Workers(setup.Options, members.Count, device);
        if (workers == 1)
        {
            for (int m = 0; m < members.Count; m++)
                trainMember(setups[m], members[m]);
            return;
        }

        var progress = new SequentialOrder(setup.Progress ?? setup.Options.Progress, members.Count);
        using var stop = new CancellationTokenSource();
        using var threads = TrainingThreads.Use(1);
        Exception? failure = null;
        int next = -1;
        void Work()
        {
            for (int m = Interlocked.Increment(ref next); m < members.Count && !stop.IsCancellationRequested; m = Interlocked.Increment(ref next))
            {
                try
                {
                    trainMember(setups[m] with { Threads = 1, Progress = progress.Of(m), Stop = stop.Token }, members[m]);
                    progress.Finished(m);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    stop.Cancel();
                }
            }
        }
        // Long-running: dedicated threads, not the pool's, for runs of seconds to hours. The ambient settings
        // (fused-kernel policy) flow into them with the execution context.
        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Factory.StartNew(Work, CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Task.WaitAll(tasks);
        if (failure is not null)
            ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Passes the networks' epoch reports on in the order a sequential run gives them.</summary>
    private sealed class SequentialOrder(IProgress<EpochProgress>? user, int members)
    {
        private readonly object _gate = new();
        private readonly List<EpochProgress>[] _waiting = Enumerable.Range(0, members).Select(_ => new List<EpochProgress>()).ToArray();
        private readonly bool[] _finished = new bool[members];
        private int _current;   // the first network not finished: its reports pass at once

        /// <summary>The progress of network <paramref name="member"/>, or null when nobody listens.</summary>
        public IProgress<EpochProgress>? Of(int member) => user is null ? null : new Member(this, member);

        /// <summary>Network <paramref name="member"/> trained to its end: the next networks' waiting reports pass.</summary>
        public void Finished(int member)
        {
            if (user is null) return;
            lock (_gate)
            {
                _finished[member] = true;
                while (_current < members && _finished[_current])
                {
                    _current++;
                    if (_current < members) Flush(_current);
                }
            }
        }

        private void Report(int member, EpochProgress value)
        {
            lock (_gate)
            {
                if (member == _current) user!.Report(value);
                else _waiting[member].Add(value);
            }
        }

        private void Flush(int member)
        {
            foreach (var value in _waiting[member]) user!.Report(value);
            _waiting[member].Clear();
        }

        private sealed class Member(SequentialOrder order, int member) : IProgress<EpochProgress>
        {
            public void Report(EpochProgress value) => order.Report(member, value);
        }
    }
}
