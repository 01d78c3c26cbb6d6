// The seeds' Echo-RNN: a binary input series, the target is the input echoed 3 steps later. A simple RNN cell with
// 4 units learns it with truncated backpropagation through time (windows of 15 steps, state carried across windows).
// Writes the predictions of the first test steps to echo-rnn.png and the training curve to echo-rnn-curves.png.
// Usage: dotnet run -c Release [-- --epochs N --plot path.png]
using Microsoft.ML.Rnn;
using System.Diagnostics;
using Examples.Shared;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

const int SeriesLength = 50_000, BatchSize = 5, TruncatedBackpropLength = 15, StateSize = 4, EchoStep = 3;
int epochs = IntArgument("--epochs", 5);
string plotPath = StringArgument("--plot", "echo-rnn.png");

// Tiny per-step ops: one intra-op thread is fastest and does not collapse when other processes compute.
torch.set_num_threads(1);
torch.manual_seed(1);
var random = new Random(1);
using var cell = new SimpleRnnCell(inputSize: 1, hiddenSize: StateSize);
using var head = nn.Linear(StateSize, 2);
using var optimizer = optim.Adam(cell.parameters().Concat(head.parameters()), lr: 0.01);
using var runner = new TruncatedBpttRunner(cell, head,
    (logits, targets) => nn.functional.cross_entropy(logits.reshape(-1, 2), targets.reshape(-1)),
    optimizer, TruncatedBackpropLength);

var clock = Stopwatch.StartNew();
// One report per two chunks of 1,500 steps (a point of the training curve), numbered across epochs.
int reports = 0, reportsPerEpoch = (SeriesLength / BatchSize + 2 * 1_500 - 1) / (2 * 1_500);
var progress = new TrainingProgress("Echo-RNN", unit: "report");
for (int epoch = 1; epoch <= epochs; epoch++)
{
    var (x, y) = EchoData.Generate(SeriesLength, BatchSize, EchoStep, random);
    runner.ResetState(); // a new series: the carried state starts from zero
    // The whole series is one batch; the runner walks it window by window, one optimizer step per window.
    // Chunks of 1,500 steps only keep the loss printout frequent; the state flows from chunk to chunk.
    const int Chunk = 1_500;
    for (int start = 0; start < x.shape[1]; start += Chunk)
    {
        using var scope = NewDisposeScope();
        long width = Math.Min(Chunk, x.shape[1] - start);
        double loss = runner.TrainBatch(x.narrow(1, start, width).unsqueeze(2), y.narrow(1, start, width));
        if (start % (Chunk * 2) == 0)
        {
            reports++;
            progress.Report(new EpochProgress(reports - 1, epochs * reportsPerEpoch, loss, null, false, clock.Elapsed,
                clock.Elapsed / reports * (epochs * reportsPerEpoch - reports)));
        }
    }
    x.Dispose();
    y.Dispose();
}

progress.Done();
Console.WriteLine($"training curve written to {LearningCurves.Save("echo-rnn-curves.png", $"Echo-RNN: loss of every other 1,500-step chunk, {epochs} epochs", progress)}");

// Fresh data the model never saw, state carried from window to window exactly as in training.
var (testX, testY) = EchoData.Generate(SeriesLength, BatchSize, EchoStep, new Random(12345));
runner.ResetState();
using var predicted = runner.Predict(testX.unsqueeze(2)).argmax(2);
double accuracy = predicted.eq(testY).to(float64).mean().item<double>();
EchoPlot.Save(plotPath, testX, testY, predicted, row: 0, steps: 60);
Console.WriteLine($"plot written to {Path.GetFullPath(plotPath)}");
Console.WriteLine($"accuracy={accuracy:F4}");

int IntArgument(string name, int fallback) => int.Parse(StringArgument(name, fallback.ToString()));
string StringArgument(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
