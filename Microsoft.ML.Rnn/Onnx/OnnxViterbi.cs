using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Viterbi decoding of a linear-chain CRF in ONNX, as <see cref="Networks.LinearChainCrf"/> decodes: two <c>Scan</c>s,
/// one forward over the steps keeping each tag's best score and the best previous tag (the back pointers), one backward
/// over the back pointers from the best last tag.
/// </summary>
/// <remarks>
/// The forward scan runs over every step, the first included: at the first step the "transition" is the start score
/// (from any previous tag, so its back pointer is unused), at the others the transition matrix — so a row of one step
/// needs no scan of zero iterations, which ONNX Runtime's Scan fails on. A row of no steps reads one zero step and
/// keeps none of its tags. Ties go to the lowest tag (ONNX's ArgMax, libtorch's max on these sizes).
/// </remarks>
internal static class OnnxViterbi
{
    /// <summary>The best tag sequence (N, L) int64 of <paramref name="emissions"/> (N, L, T) under the given scores.</summary>
    public static string Write(OnnxGraphWriter g, string emissions, Tensor transitions, Tensor startScores, Tensor endScores, string name)
    {
        long tags = transitions.shape[0];
        string timeMajor = g.Transpose(emissions, [1, 0, 2], name + ".emissions_by_step");                      // (L, N, T)
        var guard = NoStepsGuard.Write(g, timeMajor, name);
        string first = g.Apply("Equal", name + ".first", g.Apply("Range", name + ".step_index", g.Long(0, name + ".range.start"),
            g.Reshape(guard.InputSteps(g, name), [], name + ".range.end"), g.Long(1, name + ".range.delta")), g.Long(0, name + ".range.zero"));   // (L) true at step 0

        // Forward: score (N, T) from zero; back pointers (L, N, T).
        string zeros = g.BatchZeros(timeMajor, tags, name + ".score.initial");
        using var startRows = startScores.detach().expand(tags, tags);   // from any tag i to tag j: start[j]
        string startMatrix = g.Weight(startRows, name + ".start"), transitionMatrix = g.Weight(transitions, name + ".transitions");
        var forward = new OnnxSubgraphBuilder(g.Target);
        var f = new OnnxGraphWriter(forward, g.Name(name + ".forward"));
        string score = forward.Input(f.Name("score"), typeof(float));
        string isFirst = forward.Input(f.Name("is_first"), typeof(bool));
        string emission = forward.Input(f.Name("emission"), typeof(float));
        string moves = f.Apply("Add", "moves", f.Reshape(score, [0, tags, 1], "score_by_previous"),
            f.Apply("Where", "transition", isFirst, startMatrix, transitionMatrix));                               // (N, T previous, T next)
        string best = f.Apply("ReduceMax", "best", n => { n.AddAttribute("axes", new[] { 1L }); n.AddAttribute("keepdims", 0L); }, moves);
        string pointer = f.Apply("ArgMax", "pointer", n => { n.AddAttribute("axis", 1L); n.AddAttribute("keepdims", 0L); }, moves);
        forward.Output(f.Apply("Add", "next_score", best, emission), f.Name("score.next"), typeof(float));
        forward.Output(pointer, f.Name("pointers"), typeof(long));
        string finalScore = g.NewValue(name + ".final_score"), pointers = g.NewValue(name + ".pointers");
        var forwardScan = g.Node("Scan", [zeros, first, guard.Input], [finalScore, pointers]);
        forwardScan.AddAttribute("body", forward.ToGraph(g.Name(name + ".forward")));
        forwardScan.AddAttribute("num_scan_inputs", 2L);

        // Backward: from the best last tag, each step's tag, then the tag its pointer names.
        string last = g.Apply("ArgMax", name + ".last_tag", n => { n.AddAttribute("axis", 1L); n.AddAttribute("keepdims", 0L); },
            g.Apply("Add", name + ".ended", finalScore, g.Weight(endScores, name + ".end")));
        var backward = new OnnxSubgraphBuilder(g.Target);
        var b = new OnnxGraphWriter(backward, g.Name(name + ".backward"));
        string tag = backward.Input(b.Name("tag"), typeof(long));
        string stepPointers = backward.Input(b.Name("step_pointers"), typeof(long));
        string previous = b.Apply("GatherElements", "previous", n => n.AddAttribute("axis", 1L), stepPointers, b.Reshape(tag, [-1, 1], "tag_column"));
        backward.Output(b.Reshape(previous, [-1], "previous_tag"), b.Name("tag.next"), typeof(long));
        backward.Output(tag, b.Name("tags"), typeof(long));
        string firstTag = g.NewValue(name + ".first_tag"), path = g.NewValue(name + ".path");
        var backwardScan = g.Node("Scan", [last, pointers], [firstTag, path]);
        backwardScan.AddAttribute("body", backward.ToGraph(g.Name(name + ".backward")));
        backwardScan.AddAttribute("num_scan_inputs", 1L);
        backwardScan.AddAttribute("scan_input_directions", [1L]);
        backwardScan.AddAttribute("scan_output_directions", [1L]);

        return g.Transpose(guard.Cut(g, path, name), [1, 0], name + ".tags");                                                          // (N, L)
    }
}
