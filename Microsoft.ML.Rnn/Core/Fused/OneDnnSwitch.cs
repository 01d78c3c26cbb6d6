using System.Runtime.InteropServices;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// libtorch's process-wide "use oneDNN (mkldnn)" flag, which TorchSharp does not wrap: <c>at::globalContext()</c> and
/// <c>at::Context::setUserEnabledMkldnn(bool)</c> / <c>userEnabledMkldnn()</c> are exported by libtorch_cpu. With the
/// flag off, libtorch's CPU LSTM runs its own kernel instead of oneDNN's (only the LSTM takes oneDNN; GRU and RNN never
/// do). <see cref="Off"/> switches it off for the lifetime of a scope; <see cref="AsBefore"/> keeps it as it was for the
/// lifetime of a scope. Scopes of one kind nest and overlap across threads; a scope of the other kind waits until the
/// last of them ends, so a call never runs on the other kernel because of what another thread does at the same time
/// (two ensemble networks training side by side, PredictionEngines on several threads): a seed's results do not depend
/// on timing.
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

    private static readonly object s_gate = new();   // a monitor: scopes of one kind wait for the other kind's
    private static readonly Lazy<IntPtr> s_context = new(FindContext);
    private static int s_holders;                     // open Off scopes
    private static int s_unchanged;                   // open AsBefore scopes
    private static bool s_before;

    /// <summary>True when this process's libtorch exports the switch (false on Windows builds, whose names differ).</summary>
    public static bool IsAvailable => s_context.Value != IntPtr.Zero;

    /// <summary>Switches oneDNN off until the returned scope is disposed (and every other open Off scope too); waits while a <see cref="AsBefore"/> scope is open.</summary>
    /// <exception cref="InvalidOperationException">The switch is unavailable.</exception>
    public static IDisposable Off()
    {
        if (!IsAvailable)
            throw new InvalidOperationException("OneDnnSwitch: this libtorch does not export at::Context::setUserEnabledMkldnn.");
        lock (s_gate)
        {
            while (s_unchanged > 0) Monitor.Wait(s_gate);
            if (s_holders++ == 0)
            {
                s_before = UserEnabledMkldnn(s_context.Value);
                SetUserEnabledMkldnn(s_context.Value, false);
            }
        }
        return new Scope(off: true);
    }

    /// <summary>Keeps the flag as it was (before any <see cref="Off"/>) until the returned scope is disposed; waits while an Off scope is open.</summary>
    public static IDisposable AsBefore()
    {
        if (!IsAvailable) return Scope.None;
        lock (s_gate)
        {
            while (s_holders > 0) Monitor.Wait(s_gate);
            s_unchanged++;
        }
        return new Scope(off: false);
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

    private sealed class Scope(bool off) : IDisposable
    {
        /// <summary>A scope that holds nothing (the switch is unavailable).</summary>
        public static readonly IDisposable None = new Scope(off: false) { _disposed = 1 };

        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (s_gate)
            {
                if (off)
                {
                    if (--s_holders == 0)
                    {
                        SetUserEnabledMkldnn(s_context.Value, s_before);
                        Monitor.PulseAll(s_gate);
                    }
                }
                else if (--s_unchanged == 0)
                {
                    Monitor.PulseAll(s_gate);
                }
            }
        }
    }
}
