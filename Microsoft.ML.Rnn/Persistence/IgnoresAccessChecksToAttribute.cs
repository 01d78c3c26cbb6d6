namespace System.Runtime.CompilerServices;

/// <summary>
/// Tells the runtime to let this assembly use non-public members of the named assembly. CoreCLR honours it without
/// the attribute being in the framework; the compiler never sees those members as non-public because this project
/// compiles against publicized copies of ML.NET (see build/MLNetInternals.targets and docs/persistence.md).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute : Attribute
{
    /// <summary>Creates the attribute for the assembly with simple name <paramref name="assemblyName"/>.</summary>
    public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

    /// <summary>Simple name of the assembly whose access checks are ignored.</summary>
    public string AssemblyName { get; }
}
