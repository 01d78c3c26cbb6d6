using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Networks;

/// <summary>A minimal step-only Elman cell h' = tanh(W x + U h + b) so network tests do not depend on the built-in cells.</summary>
internal sealed class ElmanTestCell : RnnCell
{
    private readonly Linear input_map;
    private readonly Linear state_map;

    public ElmanTestCell(long inputSize, long hiddenSize, string name = "elman") : base(name)
    {
        input_map = nn.Linear(inputSize, hiddenSize);
        state_map = nn.Linear(hiddenSize, hiddenSize, hasBias: false);
        InputSize = inputSize;
        OutputSize = hiddenSize;
        StateSizes = [hiddenSize];
        RegisterComponents();
    }

    public override long InputSize { get; }
    public override IReadOnlyList<long> StateSizes { get; }
    public override long OutputSize { get; }

    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        var h = tanh(input_map.call(input) + state_map.call(state[0]));
        return (h, [h]);
    }

    public static RnnCell Build(long inputSize, long hiddenSize, string name) => new ElmanTestCell(inputSize, hiddenSize, name);
}
