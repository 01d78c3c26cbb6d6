using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnBench;

/// <summary>Prints records as table rows and writes the JSON file.</summary>
internal static class Report
{
    public static void PrintHeader()
    {
        Console.WriteLine($"{"figure",-62} {"config",-30} {"value",12} {"reference",12} {"ratio",7} {"goal",8} {"met",4}  units");
        Console.WriteLine(new string('-', 150));
    }

    public static void PrintRow(BenchRecord r)
    {
        string goal = r.Goal is double g ? (r.HigherIsBetter ? ">=" : "<=") + g.ToString("0.##") : "";
        string met = r.MeetsGoal switch { true => "yes", false => "NO", null => "" };
        Console.WriteLine($"{Trim(r.Name, 62),-62} {Trim(r.Config.ToString(), 30),-30} {Format(r.Value),12} {Format(r.Reference),12} " +
                          $"{(r.Ratio is double q ? q.ToString("0.000") : ""),7} {goal,8} {met,4}  {r.Units}");
    }

    private static string Trim(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";

    private static string Format(double? v) => v switch
    {
        null => "",
        >= 1000 => v.Value.ToString("0"),
        >= 10 => v.Value.ToString("0.0"),
        _ => v.Value.ToString("0.000"),
    };

    public static void WriteJson(string path, object document)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, options));
    }
}
