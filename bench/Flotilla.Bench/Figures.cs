using System.Globalization;

namespace Flotilla.Bench;

/// <summary>Arguments in and figures out, the same way for every benchmark.</summary>
internal static class Figures
{
    public static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public static string Format(object value) => value is double d ? d.ToString("0.0", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture)!;

    public static string Median(List<double[]> rows, int column)
    {
        var sorted = rows.Select(r => r[column]).Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return median.ToString("0.0", CultureInfo.InvariantCulture);
    }
}
