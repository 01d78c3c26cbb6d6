using System.Text.Json;
using Microsoft.ML.Rnn.Core;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static Microsoft.ML.Rnn.Tests.Core.Cells.CellTestHelpers;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>
/// Every cell and variant against Golden/cells.json, produced by Golden/make_cell_golden.py (an independent NumPy
/// implementation, itself checked against torch's cells where torch has them). float32, 1e-5 per step.
/// </summary>
public class GoldenCellTests
{
    private static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "cells.json"))));

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixture.Value.RootElement.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    /// <summary>Builds the cell a fixture case describes, through the registry's name and options (as the components do).</summary>
    internal static RnnCell MakeCell(JsonElement c, ScalarType? dtype = null)
    {
        long inSize = c.GetProperty("input_size").GetInt64(), hidden = c.GetProperty("hidden_size").GetInt64();
        var options = c.GetProperty("kind_options").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var cell = RnnCellKind.Resolve(c.GetProperty("kind").GetString()!, options, nameof(GoldenCellTests)).Build(inSize, hidden);
        if (dtype is { } type)
            cell.to(type);
        return cell;
    }

    /// <summary>The cell's parameters by the fixture's (PyTorch-style) names, through the public properties.</summary>
    internal static Dictionary<string, Parameter> NamedParameters(RnnCell cell)
    {
        var d = new Dictionary<string, Parameter>();
        void Add(string name, Parameter? p) { if (p is not null) d[name] = p; }
        if (cell is GatedRnnCell gated)
        {
            Add("weight_ih", gated.WeightIh); Add("weight_hh", gated.WeightHh); Add("bias_ih", gated.BiasIh); Add("bias_hh", gated.BiasHh);
        }
        switch (cell)
        {
            case LstmCell l:
                Add("weight_ci", l.PeepholeInput); Add("weight_cf", l.PeepholeForget); Add("weight_co", l.PeepholeOutput);
                Add("weight_proj", l.ProjectionWeight);
                break;
            case LayerNormLstmCell n:
                Add("gate_norm_weight", n.GateNormWeight); Add("gate_norm_bias", n.GateNormBias);
                Add("cell_norm_weight", n.CellNormWeight); Add("cell_norm_bias", n.CellNormBias);
                break;
        }
        return d;
    }

    internal static JsonElement Case(string name)
        => Fixture.Value.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static float[] Floats(JsonElement array) => array.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    /// <summary>Loads the fixture's weights into the cell; every parameter must be covered, shapes must agree.</summary>
    internal static void LoadWeights(RnnCell cell, JsonElement c)
    {
        var named = NamedParameters(cell);
        var fromFixture = c.GetProperty("params").EnumerateObject().ToList();
        Assert.Equal(fromFixture.Select(p => p.Name).OrderBy(s => s), named.Keys.OrderBy(s => s));
        Assert.Equal(named.Count, cell.parameters().Count());
        foreach (var p in fromFixture)
        {
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            Assert.Equal(shape, named[p.Name].shape);
            Set(named[p.Name], Floats(p.Value.GetProperty("values")));
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void StepsMatchNumPyReference(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        using var cell = MakeCell(c);
        LoadWeights(cell, c);
        long n = c.GetProperty("batch").GetInt64();
        var state = c.GetProperty("initial_state").EnumerateArray()
            .Select((s, k) => tensor(Floats(s)).view(n, cell.StateSizes[k])).ToArray();
        var inputs = c.GetProperty("inputs").EnumerateArray().Select(x => tensor(Floats(x)).view(n, cell.InputSize)).ToArray();
        var steps = c.GetProperty("steps").EnumerateArray().ToArray();
        Assert.Equal(inputs.Length, steps.Length);
        using var _ = no_grad();
        for (int t = 0; t < inputs.Length; t++)
        {
            var (output, next) = cell.Step(inputs[t], state);
            AssertClose(tensor(Floats(steps[t].GetProperty("output"))).view(n, cell.OutputSize), output, Tolerances.Float32Unroll, $"{name} step {t} output");
            var expectedStates = steps[t].GetProperty("state").EnumerateArray().ToArray();
            Assert.Equal(expectedStates.Length, next.Length);
            for (int k = 0; k < next.Length; k++)
                AssertClose(tensor(Floats(expectedStates[k])).view(n, cell.StateSizes[k]), next[k], Tolerances.Float32Unroll, $"{name} step {t} state {k}");
            state = next;
        }
    }
}
