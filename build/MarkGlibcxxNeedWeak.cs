// Compiled by MSBuild's RoslynCodeTaskFactory (see LibTorchSharpCompat.targets); not part of any project.
#nullable enable
using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Marks the ELF version-need entry <see cref="VersionName"/> of every libLibTorchSharp.so below
/// <see cref="Directories"/> as weak, when the host's libstdc++ does not define that version.
/// </summary>
public class MarkGlibcxxNeedWeak : Task
{
    private const string LibraryName = "libLibTorchSharp.so";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    [Required] public string[] Directories { get; set; } = Array.Empty<string>();
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        var libraries = new System.Collections.Generic.List<string>();
        foreach (var dir in Directories)
        {
            if (!string.IsNullOrWhiteSpace(dir) && Directory.Exists(dir))
                libraries.AddRange(Directory.GetFiles(dir, LibraryName, SearchOption.AllDirectories));
        }
        if (libraries.Count == 0)
            return true;

        string? libStdCxx = FindLibStdCxx();
        if (libStdCxx == null)
        {
            Log.LogError($"TorchSharp's {LibraryName} needs libstdc++, but libstdc++.so.6 was not found on this host. " +
                         "Install the distribution's libstdc++6 package, or set RnnSkipLibStdCxxFix=true to skip this check.");
            return false;
        }
        if (Contains(File.ReadAllBytes(libStdCxx), Encoding.ASCII.GetBytes(VersionName + "\0")))
        {
            Log.LogMessage(MessageImportance.Low, $"{libStdCxx} provides {VersionName}; {LibraryName} left unchanged.");
            return true;
        }

        foreach (var library in libraries)
        {
            try
            {
                byte[] image = File.ReadAllBytes(library);
                switch (MarkWeak(image, VersionName))
                {
                    case PatchResult.Patched:
                        // Write a new file and move it over the old one so that a hard link into a package
                        // cache (if the copy step made one) is never modified.
                        string temp = library + ".rnn-tmp";
                        File.WriteAllBytes(temp, image);
                        File.Delete(library);
                        File.Move(temp, library);
                        Log.LogMessage(MessageImportance.Normal,
                            $"Marked the {VersionName} version need of {library} weak (host libstdc++ lacks it).");
                        break;
                    case PatchResult.AlreadyWeak:
                    case PatchResult.NotNeeded:
                        break;
                }
            }
            catch (InvalidDataException e)
            {
                Log.LogError($"Cannot make {library} loadable with this host's libstdc++ ({libStdCxx} lacks {VersionName}): " +
                             $"{e.Message} Install a libstdc++ from GCC 13 or newer, or set RnnSkipLibStdCxxFix=true.");
                return false;
            }
        }
        return !Log.HasLoggedErrors;
    }

    private enum PatchResult { Patched, AlreadyWeak, NotNeeded }

    /// <summary>Finds the Elf64_Vernaux entry named <paramref name="version"/> in .gnu.version_r and sets VER_FLG_WEAK.</summary>
    private static PatchResult MarkWeak(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("expected a 64-bit little-endian ELF file.");

        ulong shoff = U64(elf, 0x28);
        int shentsize = U16(elf, 0x3a);
        int shnum = U16(elf, 0x3c);
        for (int i = 0; i < shnum; i++)
        {
            long sh = checked((long)shoff + (long)i * shentsize);
            Check(elf, sh, 64);
            if (U32(elf, sh + 4) != ShtGnuVerneed)
                continue;

            long verneed = (long)U64(elf, sh + 0x18);
            uint link = U32(elf, sh + 0x28);
            long strSection = checked((long)shoff + (long)link * shentsize);
            Check(elf, strSection, 64);
            long strtab = (long)U64(elf, strSection + 0x18);

            long need = verneed;
            while (true)
            {
                Check(elf, need, 16);
                int count = U16(elf, need + 2);
                long aux = need + U32(elf, need + 8);
                for (int a = 0; a < count; a++)
                {
                    Check(elf, aux, 16);
                    string name = CString(elf, strtab + U32(elf, aux + 8));
                    if (name == version)
                    {
                        ushort flags = U16(elf, aux + 4);
                        if ((flags & VerFlagWeak) != 0)
                            return PatchResult.AlreadyWeak;
                        flags |= VerFlagWeak;
                        elf[aux + 4] = (byte)flags;
                        elf[aux + 5] = (byte)(flags >> 8);
                        return PatchResult.Patched;
                    }
                    aux += U32(elf, aux + 12);
                }
                uint next = U32(elf, need + 12);
                if (next == 0)
                    break;
                need += next;
            }
            return PatchResult.NotNeeded;
        }
        return PatchResult.NotNeeded;
    }

    private static string? FindLibStdCxx()
    {
        try
        {
            var psi = new ProcessStartInfo("ldconfig", "-p") { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p != null)
            {
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                foreach (var line in output.Split('\n'))
                {
                    int arrow = line.IndexOf("=>", StringComparison.Ordinal);
                    if (line.TrimStart().StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && arrow > 0
                        && line.Contains("x86-64"))
                    {
                        string path = line.Substring(arrow + 2).Trim();
                        if (File.Exists(path))
                            return path;
                    }
                }
            }
        }
        catch (Exception)
        {
            // ldconfig missing or not runnable: fall back to the usual locations.
        }
        foreach (var path in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                                     "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
        {
            if (File.Exists(path))
                return path;
        }
        return null;
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        int first = 0;
        while ((first = Array.IndexOf(haystack, needle[0], first)) >= 0 && first <= haystack.Length - needle.Length)
        {
            int k = 1;
            while (k < needle.Length && haystack[first + k] == needle[k]) k++;
            if (k == needle.Length) return true;
            first++;
        }
        return false;
    }

    private static void Check(byte[] b, long offset, int length)
    {
        if (offset < 0 || offset + length > b.Length)
            throw new InvalidDataException($"ELF structure points outside the file (offset {offset}).");
    }

    private static string CString(byte[] b, long offset)
    {
        Check(b, offset, 1);
        long end = offset;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)offset, (int)(end - offset));
    }

    private static ushort U16(byte[] b, long o) { Check(b, o, 2); return BitConverter.ToUInt16(b, (int)o); }
    private static uint U32(byte[] b, long o) { Check(b, o, 4); return BitConverter.ToUInt32(b, (int)o); }
    private static ulong U64(byte[] b, long o) { Check(b, o, 8); return BitConverter.ToUInt64(b, (int)o); }
}
