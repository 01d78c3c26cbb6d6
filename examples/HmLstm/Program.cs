// Trains a 3-layer Hierarchical Multiscale LSTM as a character-level language model on the fortune texts and
// reports how often each layer's boundary detector fires; writes the training curve to hm-lstm-curves.png.
// Usage: dotnet run -c Release [-- --steps N]
//        dotnet run -c Release -- --component [--epochs N --rows N --model hm-lstm.zip --encodings file]   (through BiGruEncoder)
//        dotnet run -c Release -- --score hm-lstm.zip [--encodings file]                                   (another process)
using Microsoft.ML.Rnn;
using System.Diagnostics;
using Examples.Shared;
using HmLstm;
using TorchSharp;
using static TorchSharp.torch;

// The same cell inside an ML.NET component: --component trains BiGruEncoder with it and saves a zip; --score loads
// that zip in another process (see ComponentRun).
if (args.Length > 0 && args[0] is "--component" or "--score")
{
    ComponentRun.RegisterCell();
    string Argument(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    if (args[0] == "--component")
        ComponentRun.Train(int.Parse(Argument("--epochs", "3")), int.Parse(Argument("--rows", "2000")),
            Argument("--model", "hm-lstm.zip"), Argument("--encodings", "hm-lstm-encodings.txt"));
    else
        ComponentRun.Score(Argument("--score", "hm-lstm.zip"), Argument("--encodings", "hm-lstm-encodings-loaded.txt"));
    return;
}

int steps = args.Length == 2 && args[0] == "--steps" ? int.Parse(args[1]) : 300;
const int BatchSize = 32, WindowLength = 64, Layers = 3;
// The step loop issues many small ops: intra-op threads add nothing here and collapse when another process
// computes on the same cores (measured 4x slower with 2 threads under load), so use one.
torch.set_num_threads(1);
torch.manual_seed(7);
var random = new Random(7);

var corpus = CharCorpus.Load(Path.Combine(AppContext.BaseDirectory, "data"));
Console.WriteLine($"corpus: {corpus.Train.Length:N0} training and {corpus.Test.Length:N0} test characters, " +
                  $"{corpus.VocabularySize} symbols; unigram entropy {corpus.UnigramBitsPerChar:F2} bits/char");

using var model = new CharLanguageModel(corpus.VocabularySize, embeddingSize: 32, hiddenSize: 96, numberOfLayers: Layers);
using var optimizer = optim.Adam(model.parameters(), lr: 3e-3);
var clock = Stopwatch.StartNew();
var progress = new TrainingProgress("HM-LSTM", unit: "step");
model.train();
for (int step = 1; step <= steps; step++)
{
    using var scope = NewDisposeScope();
    model.Cell.Slope = 1.0 + 4.0 * step / steps; // slope annealing, as in the paper
    var batch = corpus.SampleWindows(corpus.Train, BatchSize, WindowLength + 1, random);
    var (logits, boundaries) = model.Forward(batch[.., ..WindowLength]);
    var loss = nn.functional.cross_entropy(logits.reshape(-1, corpus.VocabularySize), batch[.., 1..].reshape(-1));
    optimizer.zero_grad();
    loss.backward();
    nn.utils.clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
    if (step % 25 == 0 || step == 1)
        progress.Report(new EpochProgress(step - 1, steps, loss.item<float>() / Math.Log(2), null, false, clock.Elapsed,
            clock.Elapsed / step * (steps - step)));
}
progress.Done();
Console.WriteLine($"training curve (bits/char) written to {LearningCurves.Save("hm-lstm-curves.png", "HM-LSTM character language model: training bits/char", progress)}");

model.eval();
using (no_grad())
using (var scope = NewDisposeScope())
{
    var windows = corpus.ConsecutiveWindows(corpus.Test, count: 64, WindowLength + 1);
    var (logits, boundaries) = model.Forward(windows[.., ..WindowLength]);
    var loss = nn.functional.cross_entropy(logits.reshape(-1, corpus.VocabularySize), windows[.., 1..].reshape(-1));
    Console.WriteLine($"test: {loss.item<float>() / Math.Log(2):F3} bits/char (unigram {corpus.UnigramBitsPerChar:F2})");
    var rates = boundaries.mean([0, 1]).data<float>().ToArray();
    for (int l = 0; l < Layers; l++)
        Console.WriteLine($"layer {l + 1} boundary fires at {rates[l]:P1} of steps" +
                          (rates[l] > 0 ? $" (every {1 / rates[l]:F1} characters)" : " (never: the layer only copies its state)"));
}
