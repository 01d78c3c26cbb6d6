using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>
/// The hand-written TorchSharp reference: nn.LSTM or nn.GRU (batch-first; <see cref="BenchConfig.Gru"/>) → last step →
/// Linear, trained with Adam and the same gradient clipping as the library's training loop. No library code.
/// </summary>
internal sealed class RawRnnClassifier : IDisposable
{
    private readonly LSTM? _lstm;
    private readonly GRU? _gru;
    private readonly Linear _linear;
    private readonly optim.Optimizer _optimizer;
    private readonly Parameter[] _parameters;

    public RawRnnClassifier(BenchConfig config, long classes, double learningRate = 0.003)
    {
        bool bidirectional = config.Directions == 2;
        if (config.Gru)
            _gru = nn.GRU(config.InputSize, config.HiddenSize, numLayers: config.Layers, batchFirst: true, bidirectional: bidirectional);
        else
            _lstm = nn.LSTM(config.InputSize, config.HiddenSize, numLayers: config.Layers, batchFirst: true, bidirectional: bidirectional);
        _linear = nn.Linear(config.HiddenSize * config.Directions, classes);
        _parameters = (_lstm?.parameters() ?? _gru!.parameters()).Concat(_linear.parameters()).ToArray();
        _optimizer = optim.Adam(_parameters, lr: learningRate);
    }

    /// <summary>Logits (N, C) of (N, L, H_in) inputs.</summary>
    public Tensor Forward(Tensor x)
    {
        var output = _lstm is not null ? _lstm.call(x).Item1 : _gru!.call(x).Item1;
        return _linear.call(output.select(1, -1));
    }

    /// <summary>One training step on a batch (caller provides the dispose scope).</summary>
    public void TrainStep(Tensor x, Tensor y)
    {
        _optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(Forward(x), y);
        loss.backward();
        nn.utils.clip_grad_norm_(_parameters, 5.0);
        _optimizer.step();
    }

    /// <summary>Class probabilities copied to managed memory, as a scorer hands them out.</summary>
    public float[] Predict(Tensor x)
    {
        using var noGrad = no_grad();
        return nn.functional.softmax(Forward(x), 1).data<float>().ToArray();
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _lstm?.Dispose();
        _gru?.Dispose();
        _linear.Dispose();
    }
}
