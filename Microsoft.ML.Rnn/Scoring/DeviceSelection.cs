using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn.Scoring;

/// <summary>Turns the <see cref="RnnDevice"/> option into a TorchSharp device, falling back to the CPU.</summary>
internal static class DeviceSelection
{
    /// <summary>
    /// The device for <paramref name="device"/>: CUDA when asked for and available, otherwise the CPU; asking for
    /// CUDA without it logs a warning to <paramref name="channel"/> instead of failing, so a model trained on a GPU
    /// machine still trains and scores elsewhere.
    /// </summary>
    public static torch.Device Resolve(RnnDevice device, IChannel? channel, string component)
    {
        if (device == RnnDevice.Cuda)
        {
            if (torch.cuda.is_available())
                return torch.CUDA;
            channel?.Warning($"{component}: Device = Cuda was requested but CUDA is not available; using the CPU.");
        }
        return torch.CPU;
    }
}
