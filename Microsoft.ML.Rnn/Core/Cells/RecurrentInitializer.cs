using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Re-initialises the built-in cells (<see cref="LstmCell"/>, <see cref="GruCell"/>, <see cref="SimpleRnnCell"/>)
/// inside a cell or module tree, drawing from libtorch's generator (so a seeded run stays reproducible).</summary>
public static class RecurrentInitializer
{
    /// <summary>Applies <paramref name="initialization"/> to every built-in cell in <paramref name="module"/> (itself included).</summary>
    public static void Apply(nn.Module module, RecurrentInitialization initialization)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (initialization == RecurrentInitialization.PyTorch)
            return;
        if (initialization != RecurrentInitialization.Keras)
            throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "RecurrentInitializer: unknown initialization.");
        using var noGrad = no_grad();
        foreach (var cell in module.modules().Prepend(module))
        {
            switch (cell)
            {
                case LstmCell lstm:
                    Keras(lstm.WeightIh, lstm.WeightHh, lstm.BiasIh, lstm.BiasHh);
                    // PyTorch's gate order is i, f, g, o: the forget gate's block is the second.
                    lstm.BiasIh.narrow(0, lstm.HiddenSize, lstm.HiddenSize).fill_(KeptScalars.One);
                    break;
                case GruCell gru:
                    Keras(gru.WeightIh, gru.WeightHh, gru.BiasIh, gru.BiasHh);
                    break;
                case SimpleRnnCell rnn:
                    Keras(rnn.WeightIh, rnn.WeightHh, rnn.BiasIh, rnn.BiasHh);
                    break;
            }
        }
    }

    private static void Keras(Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh)
    {
        nn.init.xavier_uniform_(weightIh);
        // (G*H, H): each gate's (H, H) block orthogonal, as Keras' orthogonal recurrent kernel is per gate in effect.
        long h = weightHh.shape[1];
        for (long gate = 0; gate < weightHh.shape[0] / h; gate++)
            nn.init.orthogonal_(weightHh.narrow(0, gate * h, h));
        biasIh.zero_();
        biasHh.zero_();
    }
}
