using static TorchSharp.torch;

/// <summary>The Echo-RNN task's data: random bits and the same bits echoed a few steps later.</summary>
internal static class EchoData
{
    /// <summary>
    /// Returns inputs x (N, T) float32 of random 0/1 and targets y (N, T) int64 with y[t] = x[t - echoStep] and
    /// y[t] = 0 for the first echoStep steps, where N = <paramref name="batchSize"/> rows of T = seriesLength / N steps.
    /// </summary>
    public static (Tensor X, Tensor Y) Generate(int seriesLength, int batchSize, int echoStep, Random random)
    {
        int steps = seriesLength / batchSize;
        var x = new float[batchSize * steps];
        var y = new long[batchSize * steps];
        for (int n = 0; n < batchSize; n++)
        {
            for (int t = 0; t < steps; t++)
                x[n * steps + t] = random.Next(2);
            for (int t = echoStep; t < steps; t++)
                y[n * steps + t] = (long)x[n * steps + t - echoStep];
        }
        return (tensor(x, [batchSize, steps]), tensor(y, [batchSize, steps]));
    }
}
