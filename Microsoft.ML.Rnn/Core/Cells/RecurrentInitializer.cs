using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Re-initialises every gated cell (<see cref="GatedRnnCell"/>: the built-in cells, and cells of your own derived
/// from it) inside a cell or module tree, drawing from libtorch's generator (so a seeded run stays reproducible).</summary>
public static class RecurrentInitializer
{
    /// <summary>Applies <paramref name="initialization"/> to every gated cell in <paramref name="module"/> (itself included).</summary>
    public static void Apply(nn.Module module, RecurrentInitialization initialization)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (initialization == RecurrentInitialization.PyTorch)
            return;
        if (initialization != RecurrentInitialization.Keras)
            throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "RecurrentInitializer: unknown initialization.");
        using var noGrad = no_grad();
        foreach (var cell in module.modules().Prepend(module).OfType<GatedRnnCell>())
        {
            Keras(cell.WeightIh, cell.WeightHh, cell.HiddenSize);
            cell.BiasIh?.zero_();
            cell.BiasHh?.zero_();
            // Keras' unit forget bias: the forget gate's block starts at 1.
            if (cell.ForgetGate >= 0)
                cell.BiasIh?.narrow(0, cell.ForgetGate * cell.HiddenSize, cell.HiddenSize).fill_(KeptScalars.One);
        }
    }

    private static void Keras(Tensor weightIh, Tensor weightHh, long hiddenSize)
    {
        nn.init.xavier_uniform_(weightIh);
        // (G*H, H_out): each gate's (H, H_out) block orthogonal, as Keras' orthogonal recurrent kernel is per gate in effect.
        for (long gate = 0; gate < weightHh.shape[0] / hiddenSize; gate++)
            nn.init.orthogonal_(weightHh.narrow(0, gate * hiddenSize, hiddenSize));
    }
}
