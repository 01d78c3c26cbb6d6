namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// What a layer or a decoder reads when its input (L, N, ...) has no steps, because ONNX Runtime fails on a sequence of
/// no steps in its GRU (ending the process) and in its Scan: one zero step instead (<see cref="Input"/>), whose outputs
/// <see cref="Cut"/> removes again and whose final outputs <see cref="Restore"/> zeroes, so that a row of no steps
/// scores as in the component.
/// </summary>
/// <param name="Steps">L, as a (1) int64 value.</param>
/// <param name="Empty">Whether L is 0, (1) bool.</param>
/// <param name="Added">The steps added: 1 when L is 0, else 0, (1) int64.</param>
/// <param name="Input">The input with at least one step.</param>
internal sealed record NoStepsGuard(string Steps, string Empty, string Added, string Input)
{
    public static NoStepsGuard Write(OnnxGraphWriter g, string x, string name)
    {
        string steps = g.Apply("Slice", name + ".steps", g.Apply("Shape", name + ".shape", x), g.Longs([0], name + ".steps.start"), g.Longs([1], name + ".steps.end"));
        string empty = g.Apply("Equal", name + ".no_steps", steps, g.Long(0, name + ".zero_steps"));
        string added = g.Apply("Cast", name + ".added_step", n => n.AddAttribute("to", typeof(long)), empty);
        string read = g.Apply("Pad", name + ".at_least_one_step", x, g.Apply("Concat", name + ".pads", n => n.AddAttribute("axis", 0L),
            g.Longs([0, 0, 0], name + ".pads.start"), added, g.Longs([0, 0], name + ".pads.end")));
        return new NoStepsGuard(steps, empty, added, read);
    }

    /// <summary>The steps <see cref="Input"/> has: L, or 1 when L is 0.</summary>
    public string InputSteps(OnnxGraphWriter g, string name) => g.Apply("Add", name + ".input_steps", Steps, Added);

    /// <summary>The first <see cref="Steps"/> of <paramref name="outputs"/> (steps first).</summary>
    public string Cut(OnnxGraphWriter g, string outputs, string name)
        => g.Apply("Slice", name + ".outputs_read", outputs, g.Longs([0], name + ".outputs_read.start"), Steps, g.Longs([0], name + ".outputs_read.axis"));

    /// <summary><see cref="Cut"/> <paramref name="outputs"/>, and <paramref name="final"/> zero without steps.</summary>
    public (string Outputs, string Final) Restore(OnnxGraphWriter g, string outputs, string final, string name)
        => (Cut(g, outputs, name), g.Apply("Where", name + ".final_read", Empty, g.Float(0f, name + ".zero_final"), final));
}
