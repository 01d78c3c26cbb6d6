using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

// Usage: Microsoft.ML.Rnn.Tests.Loader <model.zip> <data.idv> <column>[,<column>...] [<assembly.dll>...]
// Prints one line per requested column and row: "<column>\t<row>\t<v1> <v2> ..." (floats round-trip exact, keys as
// their raw 1-based value). The optional assemblies are loaded by path first (and their module initializers run);
// this is only for components or cells that live in a test assembly, never needed for Microsoft.ML.Rnn's own.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: Microsoft.ML.Rnn.Tests.Loader <model.zip> <data.idv> <column>[,<column>...] [<assembly.dll>...]");
    return 2;
}

// An assembly's module initializer runs here: that is where a test assembly registers its cells of its own
// (RnnCellKind.Register), as an application does at start-up before loading their models.
foreach (var assemblyPath in args.Skip(3))
    System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(Assembly.LoadFrom(assemblyPath).ManifestModule.ModuleHandle);

var mlContext = new MLContext(seed: 1);
ITransformer model = mlContext.Model.Load(args[0], out _);
IDataView data = mlContext.Data.LoadFromBinary(args[1]);
IDataView output = model.Transform(data);

var columns = args[2].Split(',').Select(name => output.Schema[name]).ToArray();
using var cursor = output.GetRowCursor(columns);
var printers = columns.Select(c => MakePrinter(cursor, c)).ToArray();
var outText = Console.Out;
while (cursor.MoveNext())
{
    for (int i = 0; i < columns.Length; i++)
        outText.WriteLine($"{columns[i].Name}\t{cursor.Position}\t{printers[i]()}");
}
return 0;

static Func<string> MakePrinter(DataViewRow row, DataViewSchema.Column column)
{
    static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
    switch (column.Type)
    {
        case NumberDataViewType n when n.RawType == typeof(float):
        {
            var get = row.GetGetter<float>(column);
            return () => { float v = 0; get(ref v); return F(v); };
        }
        case KeyDataViewType k when k.RawType == typeof(uint):
        {
            var get = row.GetGetter<uint>(column);
            return () => { uint v = 0; get(ref v); return v.ToString(CultureInfo.InvariantCulture); };
        }
        case VectorDataViewType v when v.ItemType.RawType == typeof(float):
        {
            var get = row.GetGetter<VBuffer<float>>(column);
            return () => { VBuffer<float> b = default; get(ref b); return string.Join(' ', b.DenseValues().Select(F)); };
        }
        case VectorDataViewType v when v.ItemType.RawType == typeof(uint):
        {
            var get = row.GetGetter<VBuffer<uint>>(column);
            return () => { VBuffer<uint> b = default; get(ref b); return string.Join(' ', b.DenseValues()); };
        }
        default:
            throw new NotSupportedException($"Loader: cannot print column '{column.Name}' of type {column.Type}.");
    }
}
