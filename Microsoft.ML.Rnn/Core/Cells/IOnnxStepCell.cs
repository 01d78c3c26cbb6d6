namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// A cell that describes its step in ONNX operators, so that a model holding it converts to ONNX
/// (<c>mlContext.Model.ConvertToOnnx</c>) and scores through ONNX Runtime: the package runs the step over the
/// sequence in a <c>Scan</c> node. Every built-in cell implements it; a cell of your own that does not makes
/// conversion fail with a message naming the cell and this interface.
/// </summary>
/// <remarks>
/// The step is written once per layer and direction, with the cell's trained weights as constants (<see cref="OnnxStep.Weight"/>).
/// It must compute what <see cref="RnnCell.Step"/> computes at inference (no dropout, no sampling); the package's tests
/// of a cell compare the two through ONNX Runtime. Values are named by strings, as in ONNX; every value a step writes
/// is float32 unless an operator says otherwise.
/// </remarks>
public interface IOnnxStepCell
{
    /// <summary>Writes one step of the cell.</summary>
    /// <param name="step">Adds the step's nodes and constants.</param>
    /// <param name="input">(N, H_in) input of the step.</param>
    /// <param name="state">One value (N, S_k) per entry of <see cref="RnnCell.StateSizes"/>, in that order.</param>
    /// <returns>The output (N, H_out) and the new state, one value per entry of <see cref="RnnCell.StateSizes"/>.</returns>
    (string Output, string[] State) WriteOnnxStep(OnnxStep step, string input, IReadOnlyList<string> state);

    /// <summary>
    /// The part of every step that does not depend on the state, for the whole sequence at once and outside the
    /// <c>Scan</c> (typically the input projection: one large matrix product instead of one per step), as
    /// <see cref="RnnCell.PrepareInputs"/> is for the step loop. Override it and <see cref="WriteOnnxStepPrepared"/>
    /// together, or neither; by default the inputs pass through and the step is <see cref="WriteOnnxStep"/>.
    /// </summary>
    /// <param name="sequence">Adds nodes outside the <c>Scan</c>.</param>
    /// <param name="inputs">(L, N, H_in) every step's input.</param>
    /// <returns>(L, N, P) for any P of the cell's choosing.</returns>
    string WriteOnnxPrepare(OnnxStep sequence, string inputs) => inputs;

    /// <summary>One step from its slice (N, P) of <see cref="WriteOnnxPrepare"/>'s result, computing what <see cref="WriteOnnxStep"/> computes.</summary>
    (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state) => WriteOnnxStep(step, prepared, state);
}
