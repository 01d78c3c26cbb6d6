using System.Globalization;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Rnn.EndToEndTests;

/// <summary>The examples learn what they claim to, run as a user runs them (a separate process, short settings).</summary>
[TestClass]
public sealed class ExampleLearningTests
{
    /// <summary>
    /// examples/EchoRnn: the target is the input 3 steps earlier, so a model without memory is at chance (0.5); one
    /// epoch of truncated BPTT with a 4-unit simple RNN reaches ~0.9997 (only the first steps of the series cannot be
    /// echoed). The bound sits far from both.
    /// </summary>
    [TestMethod]
    public void EchoRnnLearnsToEchoItsInputThreeStepsLater()
    {
        string directory = Path.Combine(Path.GetTempPath(), "rnn-echo-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            string plot = Path.Combine(directory, "echo.png");
            var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.EchoRnn, directory, "--epochs", "1", "--plot", plot);
            Assert.AreEqual(0, exitCode, $"EchoRnn failed:\n{output}\n{error}");
            var match = Regex.Match(output, @"accuracy=(?<value>[0-9.]+)");
            Assert.IsTrue(match.Success, $"no accuracy line in:\n{output}");
            double accuracy = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            Assert.IsTrue(accuracy > 0.95, $"echo accuracy {accuracy} (chance 0.5)");
            Assert.IsTrue(File.Exists(plot), "the prediction plot was not written");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// examples/SeriesForecast on the two quarterly US series with its defaults: the last fifth forecast 4 quarters ahead
    /// from every origin, against the seasonal naive forecast in the same run. The regressor's MASE measured 1.63 and 1.22
    /// against the naive's 2.10 and 1.48 (docs/components/sequence-regressor.md); a model that learnt nothing of the
    /// series' shape does worse than the naive forecast. Also checks the table and the plots are written.
    /// </summary>
    [TestMethod]
    public void SeriesForecastBeatsTheSeasonalNaiveForecastOnTheQuarterlySeries()
    {
        string directory = Path.Combine(Path.GetTempPath(), "rnn-forecast-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.SeriesForecast, directory, "--series", "unemp,infl");
            Assert.AreEqual(0, exitCode, $"SeriesForecast failed:\n{output}\n{error}");
            foreach (string series in new[] { "unemp", "infl" })
            {
                double Mase(string method)
                {
                    var match = Regex.Match(output, $@"^{series}\s+{method}.*?\s(?<mae>[0-9.]+)\s+(?<rmse>[0-9.]+)\s+(?<mase>[0-9.]+)\s", RegexOptions.Multiline);
                    Assert.IsTrue(match.Success, $"no {method} row for {series} in:\n{output}");
                    return double.Parse(match.Groups["mase"].Value, CultureInfo.InvariantCulture);
                }
                double naive = Mase("seasonal naive"), rnn = Mase("SequenceRegressor");
                Assert.IsTrue(rnn < naive, $"{series}: SequenceRegressor MASE {rnn}, seasonal naive {naive}");
                Assert.IsTrue(File.Exists(Path.Combine(directory, $"forecast-{series}.png")), $"no plot for {series}");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// examples/HmLstm's cell of its own through an ML.NET component: registered by name, trained by BiGruEncoder's
    /// next-step objective on the fortune texts as characters, saved, and scored from the zip by another process that
    /// registers the same name. It must learn: its validation next-step loss ends well below the entropy of the
    /// character frequencies, which a cell that ignores its input cannot go below (measured 2.35 vs 3.06 nats in 3
    /// epochs on 600 rows). The boundary detectors are read through the scan unroller in both processes. The cell
    /// describes its step in ONNX, so the zip scores through ONNX Runtime as through libtorch and the model converts.
    /// </summary>
    [TestMethod]
    public void TheHmLstmCellTrainsInAComponentAndScoresFromItsZipInAnotherProcess()
    {
        string directory = Path.Combine(Path.GetTempPath(), "rnn-hmlstm-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.HmLstm, directory,
                "--component", "--epochs", "3", "--rows", "600", "--model", "hm.zip", "--encodings", "trained.txt");
            Assert.AreEqual(0, exitCode, $"HmLstm --component failed:\n{output}\n{error}");
            var match = Regex.Match(output, @"best validation next-step loss (?<loss>[0-9.]+) nats; unigram entropy (?<unigram>[0-9.]+) nats");
            Assert.IsTrue(match.Success, $"no loss line in:\n{output}");
            double loss = double.Parse(match.Groups["loss"].Value, CultureInfo.InvariantCulture);
            double unigram = double.Parse(match.Groups["unigram"].Value, CultureInfo.InvariantCulture);
            Assert.IsTrue(loss < unigram - 0.35, $"next-step loss {loss} nats vs unigram entropy {unigram}");
            // The cell's ONNX step (its boundary detector a step function at inference) scores as its libtorch step.
            var onnx = Regex.Match(output, @"ONNX Runtime scores the sample encodings within (?<difference>[0-9.E+-]+) of TorchSharp");
            Assert.IsTrue(onnx.Success, $"no ONNX line in:\n{output}");
            Assert.IsTrue(double.Parse(onnx.Groups["difference"].Value, CultureInfo.InvariantCulture) <= 2e-5, onnx.Value);
            Assert.IsTrue(new FileInfo(Path.Combine(directory, "hm.onnx")).Length > 0, "no hm.onnx");

            var (scoreExit, scoreOutput, scoreError) = ExampleProcess.Run(ExampleProcess.HmLstm, directory,
                "--score", "hm.zip", "--encodings", "loaded.txt");
            Assert.AreEqual(0, scoreExit, $"HmLstm --score failed:\n{scoreOutput}\n{scoreError}");
            var trained = File.ReadAllLines(Path.Combine(directory, "trained.txt"));
            Assert.AreEqual(5, trained.Length);
            CollectionAssert.AreEqual(trained, File.ReadAllLines(Path.Combine(directory, "loaded.txt")), "encodings from the zip differ");
            string[] Boundaries(string text) => text.Split('\n').Where(l => l.Contains("boundary fires at")).Select(l => l.Trim()).ToArray();
            Assert.AreEqual(3, Boundaries(output).Length, output);
            CollectionAssert.AreEqual(Boundaries(output), Boundaries(scoreOutput));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
