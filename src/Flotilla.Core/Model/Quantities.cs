using System.Globalization;
using System.Text.RegularExpressions;

namespace Flotilla.Model;

/// <summary>Parses the human-friendly quantities of the spec: durations, memory sizes, CPU shares.</summary>
public static partial class Quantities
{
    public const string DurationHelp = "a duration such as 500ms, 30s, 2m or 1h";
    public const string MemoryHelp = "a size such as 256Mi, 1Gi, 512M or a byte count";
    public const string CpuHelp = "a number of cores such as 0.5 or 2, or millicores such as 500m";

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$")]
    private static partial Regex MemoryPattern();

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success)
        {
            return false;
        }
        var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        value = match.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(number),
            "s" => TimeSpan.FromSeconds(number),
            "m" => TimeSpan.FromMinutes(number),
            _ => TimeSpan.FromHours(number),
        };
        return true;
    }

    public static bool TryParseMemory(string text, out long bytes)
    {
        bytes = 0;
        var match = MemoryPattern().Match(text.Trim());
        if (!match.Success)
        {
            return false;
        }
        var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        double unit = match.Groups[2].Value switch
        {
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            "Ti" => 1L << 40,
            "k" or "K" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            _ => 1,
        };
        bytes = (long)(number * unit);
        return bytes > 0;
    }

    public static bool TryParseCpu(string text, out double cores)
    {
        text = text.Trim();
        var milli = text.EndsWith('m');
        var ok = double.TryParse(milli ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out cores);
        if (milli)
        {
            cores /= 1000;
        }
        return ok && cores > 0 && double.IsFinite(cores);
    }

    public static string Format(TimeSpan value) =>
        value.TotalMilliseconds < 1000 ? $"{value.TotalMilliseconds:0}ms"
        : value.TotalSeconds < 120 ? $"{value.TotalSeconds:0.#}s"
        : $"{value.TotalMinutes:0.#}m";
}
