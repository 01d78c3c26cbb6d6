using Mono.Cecil;
using Mono.Cecil.Cil;
using Microsoft.ML.Rnn.Core;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Architecture;

/// <summary>
/// TorchSharp's implicit number-to-<c>Scalar</c> conversion makes a temporary whose only owner is the finalizer. The
/// temporary is unreachable as soon as its native handle is passed to libtorch, so a garbage collection during the
/// native call can free it while libtorch reads it; the call then fails with "Expected false to be true" (reproduced
/// here: 15 failures in 7,000 <c>tensor - 1</c> calls with a second thread collecting, none with a kept scalar).
/// The library therefore never converts implicitly: it uses scalars that something keeps alive.
/// </summary>
public class ImplicitScalarTests
{
    [Fact]
    public void TheLibraryNeverCreatesTemporaryScalars()
    {
        using var assembly = AssemblyDefinition.ReadAssembly(typeof(RnnCell).Assembly.Location, new ReaderParameters { ReadSymbols = true });
        var offenders = new List<string>();
        foreach (var type in assembly.MainModule.GetTypes())
        foreach (var method in type.Methods.Where(m => m.HasBody))
        {
            foreach (var instruction in method.Body.Instructions)
            {
                if (instruction.OpCode.Code is Code.Call or Code.Callvirt
                    && instruction.Operand is MethodReference called && IsImplicitScalar(called))
                {
                    offenders.Add(Where(method, instruction));
                }
            }
        }
        Assert.True(offenders.Count == 0, "Implicit TorchSharp.Scalar conversions (use a kept scalar):\n" + string.Join("\n", offenders));
    }

    /// <summary>
    /// TorchSharp's own methods convert too: <c>a + b</c> and <c>add(b)</c> call <c>add(b, 1)</c>, <c>add_(s)</c>
    /// calls <c>add_(s, 1)</c>, and its Adam's step converts each coefficient (the classifier's ensemble failed in
    /// <c>addcdiv_</c> and <c>mul_</c> while its networks trained side by side). The library calls no TorchSharp method
    /// that converts implicitly, directly or through the TorchSharp methods it calls, and makes no TorchSharp optimizer.
    /// </summary>
    [Fact]
    public void TheLibraryCallsNoTorchSharpMethodThatCreatesTemporaryScalars()
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location)!);
        using var assembly = AssemblyDefinition.ReadAssembly(typeof(RnnCell).Assembly.Location,
            new ReaderParameters { ReadSymbols = true, AssemblyResolver = resolver });
        var converts = new Dictionary<string, bool>();
        bool Converts(MethodDefinition method, int depth)
        {
            if (converts.TryGetValue(method.FullName, out bool known)) return known;
            converts[method.FullName] = false; // a cycle adds nothing
            bool result = method.HasBody && method.Body.Instructions.Any(i => i.OpCode.Code is Code.Call or Code.Callvirt or Code.Newobj
                && i.Operand is MethodReference called && called.DeclaringType.Scope.Name.StartsWith("TorchSharp", StringComparison.Ordinal)
                && (IsImplicitScalar(called) || depth < 4 && Resolve(called) is { } inner && Converts(inner, depth + 1)));
            return converts[method.FullName] = result;
        }

        var offenders = new SortedSet<string>();
        foreach (var type in assembly.MainModule.GetTypes())
        foreach (var method in type.Methods.Where(m => m.HasBody))
        {
            foreach (var instruction in method.Body.Instructions)
            {
                if (instruction.OpCode.Code is Code.Call or Code.Callvirt or Code.Newobj
                    && instruction.Operand is MethodReference called
                    && called.DeclaringType.Scope.Name.StartsWith("TorchSharp", StringComparison.Ordinal)
                    && Resolve(called) is { } target && (Converts(target, 0) || MakesTorchSharpsOptimizer(instruction, target)))
                {
                    offenders.Add($"{Where(method, instruction)} calls {called.DeclaringType.Name}.{called.Name}");
                }
            }
        }
        Assert.True(offenders.Count == 0, "TorchSharp methods that convert a number to a Scalar implicitly (pass every scalar, e.g. alpha, as a kept one):\n"
            + string.Join("\n", offenders));
    }

    /// <summary>
    /// A TorchSharp optimizer made by its factory (<c>torch.optim</c>) or its constructor: their steps convert scalars,
    /// reached through a virtual call this test cannot follow; the library trains with <c>KeptScalarAdam</c>.
    /// </summary>
    private static bool MakesTorchSharpsOptimizer(Instruction instruction, MethodDefinition target)
        => target.DeclaringType.FullName == "TorchSharp.torch/optim" && target.ReturnType.Name != "Void"
           || instruction.OpCode.Code == Code.Newobj && IsOptimizer(target.DeclaringType);

    private static bool IsOptimizer(TypeDefinition? type)
    {
        for (; type is not null; type = type.BaseType is { } baseType ? Resolve(baseType) : null)
            if (type.FullName == "TorchSharp.Modules.OptimizerHelper") return true;
        return false;
    }

    private static TypeDefinition? Resolve(TypeReference type)
    {
        try { return type.Resolve(); }
        catch (AssemblyResolutionException) { return null; }
    }

    private static bool IsImplicitScalar(MethodReference called)
        => called.DeclaringType.FullName == "TorchSharp.Scalar" && called.Name == "op_Implicit";

    private static MethodDefinition? Resolve(MethodReference called)
    {
        try { return called.Resolve(); }
        catch (AssemblyResolutionException) { return null; }
    }

    private static string Where(MethodDefinition method, Instruction instruction)
    {
        var point = method.DebugInformation.GetSequencePoint(instruction)
                    ?? method.Body.Instructions.Reverse().Select(i => method.DebugInformation.GetSequencePoint(i))
                        .FirstOrDefault(p => p is not null && p.Offset <= instruction.Offset);
        return $"{method.DeclaringType.FullName}.{method.Name}" + (point is null ? "" : $" ({Path.GetFileName(point.Document.Url)}:{point.StartLine})");
    }
}
