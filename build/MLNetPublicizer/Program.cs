using Mono.Cecil;

// Usage: MLNetPublicizer <output directory> <assembly.dll>...
// Writes <output directory>/<assembly file name> for each input with every type, method and field made public.
// The copies are for the compiler only: the application still loads the real, signed ML.NET assemblies, and
// [assembly: IgnoresAccessChecksTo(...)] in the consuming assembly makes the runtime accept the access.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MLNetPublicizer <output directory> <assembly.dll>...");
    return 2;
}

string outputDirectory = args[0];
Directory.CreateDirectory(outputDirectory);

var resolver = new DefaultAssemblyResolver();
foreach (var input in args.Skip(1))
    resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(input))!);

foreach (var input in args.Skip(1))
{
    string output = Path.Combine(outputDirectory, Path.GetFileName(input));
    using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver }))
    {
        int changed = 0;
        foreach (var module in assembly.Modules)
        {
            foreach (var type in module.GetTypes())
                changed += Publicize(type);
        }
        // Write to a temporary name and rename, so that a build interrupted half-way never leaves a truncated copy
        // whose timestamp would make the next incremental build skip this step.
        string temp = output + ".tmp";
        assembly.Write(temp);
        Console.WriteLine($"MLNetPublicizer: {Path.GetFileName(input)}: {changed} types and members made public");
    }
    File.Move(output + ".tmp", output, overwrite: true);
}
return 0;

static int Publicize(TypeDefinition type)
{
    int changed = 0;
    if (type.IsNested)
    {
        if (!type.IsNestedPublic)
        {
            type.Attributes = (type.Attributes & ~TypeAttributes.VisibilityMask) | TypeAttributes.NestedPublic;
            changed++;
        }
    }
    else if (!type.IsPublic)
    {
        type.Attributes = (type.Attributes & ~TypeAttributes.VisibilityMask) | TypeAttributes.Public;
        changed++;
    }

    foreach (var method in type.Methods)
    {
        if (!method.IsPublic)
        {
            method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Public;
            changed++;
        }
    }

    // A field-like event has a private backing field of the same name; making that field public would make every
    // use of the event name ambiguous for the compiler, so such fields stay as they are.
    var eventNames = new HashSet<string>(type.Events.Select(e => e.Name));
    foreach (var field in type.Fields)
    {
        if (!field.IsPublic && !eventNames.Contains(field.Name))
        {
            field.Attributes = (field.Attributes & ~FieldAttributes.FieldAccessMask) | FieldAttributes.Public;
            changed++;
        }
    }
    return changed;
}
