using System.Text;

namespace Flotilla.Router.Functions;

/// <summary>Functions' cold starts in Prometheus' text format: how long requests were held, and how long an instance took to be ready from the first held request.</summary>
internal static class ColdStartMetrics
{
    public static string Render(IEnumerable<(string Function, FunctionGate Gate)> functions)
    {
        var all = functions.OrderBy(f => f.Function, StringComparer.Ordinal).ToList();
        if (all.Count == 0)
        {
            return "";
        }
        var text = new StringBuilder();
        text.Append("# HELP flotilla_function_hold_seconds How long the router held a request while the function had no ready instance.\n");
        text.Append("# TYPE flotilla_function_hold_seconds histogram\n");
        foreach (var (function, gate) in all)
        {
            gate.HoldTimes.Render(text, "flotilla_function_hold_seconds", $"function=\"{function}\"");
        }
        text.Append("# HELP flotilla_function_start_seconds From the first request held at zero to a ready instance in the router's table.\n");
        text.Append("# TYPE flotilla_function_start_seconds histogram\n");
        foreach (var (function, gate) in all)
        {
            gate.StartTimes.Render(text, "flotilla_function_start_seconds", $"function=\"{function}\"");
        }
        return text.ToString();
    }
}
