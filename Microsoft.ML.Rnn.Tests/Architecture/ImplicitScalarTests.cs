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
                    && instruction.Operand is MethodReference called
                    && called.DeclaringType.FullName == "TorchSharp.Scalar"
                    && called.Name == "op_Implicit")
                {
                    var point = method.DebugInformation.GetSequencePoint(instruction)
                                ?? method.Body.Instructions.Reverse().Select(i => method.DebugInformation.GetSequencePoint(i))
                                    .FirstOrDefault(p => p is not null && p.Offset <= instruction.Offset);
                    offenders.Add($"{type.FullName}.{method.Name}" +
                                  (point is null ? "" : $" ({Path.GetFileName(point.Document.Url)}:{point.StartLine})"));
                }
            }
        }
        Assert.True(offenders.Count == 0, "Implicit TorchSharp.Scalar conversions (use a kept scalar):\n" + string.Join("\n", offenders));
    }
}
