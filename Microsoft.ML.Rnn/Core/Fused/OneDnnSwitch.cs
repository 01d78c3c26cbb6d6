using System.Runtime.InteropServices;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// libtorch's process-wide "use oneDNN (mkldnn)" flag, which TorchSharp does not wrap: <c>at::globalContext()</c> and
/// <c>at::Context::setUserEnabledMkldnn(bool)</c> / <c>userEnabledMkldnn()</c> are exported by libtorch_cpu. With the
/// flag off, libtorch's CPU LSTM runs its own kernel instead of oneDNN's (only the LSTM takes oneDNN; GRU and RNN never
/// do). <see cref="Off"/> switches it off for the lifetime of a scope; scopes nest and may overlap across threads: the
/// flag is restored when the last one ends. A call that starts while another thread holds a scope runs without oneDNN
/// too, which only costs speed: libtorch's own kernel is checked like every other path.
/// </summary>
internal static class OneDnnSwitch
{
    // Itanium C++ ABI names (Linux and macOS builds of libtorch); a member function takes the object as first argument.
    private const string Library = "libtorch_cpu";

    [DllImport(Library, EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);

    private static readonly Lock s_gate = new();
    private static readonly Lazy<IntPtr> s_context = new(FindContext);
    private static int s_holders;
    private static bool s_before;

    /// <summary>True when this process's libtorch exports the switch (false on Windows builds, whose names differ).</summary>
    public static bool IsAvailable => s_context.Value != IntPtr.Zero;

    /// <summary>Switches oneDNN off until the returned scope is disposed (and every other open scope too).</summary>
    /// <exception cref="InvalidOperationException">The switch is unavailable.</exception>
    public static IDisposable Off()
    {
        if (!IsAvailable)
            throw new InvalidOperationException("OneDnnSwitch: this libtorch does not export at::Context::setUserEnabledMkldnn.");
        lock (s_gate)
        {
            if (s_holders++ == 0)
            {
                s_before = UserEnabledMkldnn(s_context.Value);
                SetUserEnabledMkldnn(s_context.Value, false);
            }
        }
        return new Scope();
    }

    private static IntPtr FindContext()
    {
        try
        {
            var context = GlobalContext();
            // Resolves the other two entry points now (a no-op write) rather than inside a scope.
            SetUserEnabledMkldnn(context, UserEnabledMkldnn(context));
            return context;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return IntPtr.Zero;
        }
    }

    private sealed class Scope : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (s_gate)
            {
                if (--s_holders == 0)
                    SetUserEnabledMkldnn(s_context.Value, s_before);
            }
        }
    }
}
