using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.VisualStudio.TestTools.UnitTesting;

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
}
