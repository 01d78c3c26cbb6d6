using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>
/// The hand-written TorchSharp reference: nn.LSTM or nn.GRU (batch-first; <see cref="BenchConfig.Gru"/>) → last step →
/// Linear, trained with Adam and the same gradient clipping as the library's training loop. No library code. With
/// <c>stepLoop</c> the recurrent layers are nn.LSTMCell or nn.GRUCell called once per step and direction instead of
/// libtorch's fused kernel: the other raw path, faster than the fused kernel on some CPUs and shapes.
/// </summary>
internal sealed class RawRnnClassifier : IDisposable
{
    private readonly LSTM? _lstm;
    private readonly GRU? _gru;
    private readonly nn.Module[][]? _cells;   // [layer][direction] nn.LSTMCell or nn.GRUCell (step loop only)
    private readonly long _hiddenSize;
    private readonly Linear _linear;
    private readonly optim.Optimizer _optimizer;
    private readonly Parameter[] _parameters;

    public RawRnnClassifier(BenchConfig config, long classes, double learningRate = 0.003, bool stepLoop = false)
    {
        bool bidirectional = config.Directions == 2;
        _hiddenSize = config.HiddenSize;
        IEnumerable<Parameter> recurrent;
        if (stepLoop)
        {
            _cells = Enumerable.Range(0, config.Layers).Select(layer =>
            {
                long inputSize = layer == 0 ? config.InputSize : config.HiddenSize * config.Directions;
                return Enumerable.Range(0, config.Directions).Select(_ => config.Gru
                    ? (nn.Module)nn.GRUCell(inputSize, config.HiddenSize)
                    : nn.LSTMCell(inputSize, config.HiddenSize)).ToArray();
            }).ToArray();
            recurrent = _cells.SelectMany(layer => layer).SelectMany(cell => cell.parameters());
        }
        else if (config.Gru)
        {
            _gru = nn.GRU(config.InputSize, config.HiddenSize, numLayers: config.Layers, batchFirst: true, bidirectional: bidirectional);
            recurrent = _gru.parameters();
        }
        else
        {
            _lstm = nn.LSTM(config.InputSize, config.HiddenSize, numLayers: config.Layers, batchFirst: true, bidirectional: bidirectional);
            recurrent = _lstm.parameters();
        }
        _linear = nn.Linear(config.HiddenSize * config.Directions, classes);
        _parameters = recurrent.Concat(_linear.parameters()).ToArray();
        _optimizer = optim.Adam(_parameters, lr: learningRate);
    }

    /// <summary>Logits (N, C) of (N, L, H_in) inputs.</summary>
    public Tensor Forward(Tensor x)
    {
        var output = _cells is not null ? StepLoop(x) : _lstm is not null ? _lstm.call(x).Item1 : _gru!.call(x).Item1;
        return _linear.call(output.select(1, -1));
    }

    /// <summary>(N, L, D·H) outputs of the step loop: every layer and direction over every step, as the fused kernel.</summary>
    private Tensor StepLoop(Tensor x)
    {
        long steps = x.shape[1];
        foreach (var layer in _cells!)
        {
            var directions = layer.Select((cell, direction) =>
            {
                var outputs = new Tensor[steps];
                var h = zeros(x.shape[0], _hiddenSize);
                var c = zeros(x.shape[0], _hiddenSize);
                for (long i = 0; i < steps; i++)
                {
                    long t = direction == 0 ? i : steps - 1 - i;
                    var input = x.select(1, t);
                    if (cell is LSTMCell lstm)
                        (h, c) = lstm.call(input, (h, c));
                    else
                        h = ((GRUCell)cell).call(input, h);
                    outputs[t] = h;
                }
                return stack(outputs, 1);
            }).ToArray();
            x = directions.Length == 1 ? directions[0] : cat(directions, 2);
        }
        return x;
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
        foreach (var cell in _cells?.SelectMany(layer => layer) ?? []) cell.Dispose();
        _linear.Dispose();
    }
}
