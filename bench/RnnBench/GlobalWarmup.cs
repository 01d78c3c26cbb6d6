using static TorchSharp.torch;

namespace RnnBench;

/// <summary>
/// Process-wide warm-up before any figure: the first training steps of the process pay JIT compilation and libtorch's
/// lazy initialisation (hundreds of ms each), which would otherwise land in whichever benchmark runs first.
/// </summary>
internal static class GlobalWarmup
{
    public static void Run()
    {
        var c = BenchSettings.Config1;
        var data = new SyntheticData(c, c.N * 2);
        var batches = data.Batches();
        try
        {
            for (int m = 0; m < 2; m++)
            {
                using var model = new RawRnnClassifier(c, SyntheticData.Classes);
                for (int s = 0; s < 4; s++)
                {
                    using var scope = NewDisposeScope();
                    var (x, y) = batches[s % batches.Count];
                    model.TrainStep(x, y);
                    model.Predict(x);
                }
            }
        }
        finally
        {
            foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        }
    }
}
