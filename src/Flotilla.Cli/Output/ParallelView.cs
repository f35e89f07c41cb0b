using System.Globalization;
using Flotilla.Router.Mirror;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Flotilla.Cli.Output;

/// <summary>A parallel run's report on screen: the counts, the fields that differ most with an example, the noise.</summary>
internal static class ParallelView
{
    public static IRenderable Render(ParallelReport r)
    {
        var rows = new List<IRenderable>
        {
            new Markup(Markup.Escape(Line(r))),
        };
        if (r.Fields.Count > 0)
        {
            var fields = Tables.Create("differs", "requests", "stable", "candidate");
            foreach (var f in r.Fields)
            {
                fields.AddRow(Tables.Cells(f.Field, f.Count.ToString(CultureInfo.InvariantCulture), f.Stable, f.Candidate));
            }
            rows.Add(fields);
        }
        if (r.Noise.Count > 0)
        {
            rows.Add(new Markup(Markup.Escape("noise (differs between two stable answers, not counted): " + string.Join(", ", r.Noise.Select(n => $"{n.Field} ({n.Count})")))));
        }
        return new Rows(rows);
    }

    public static string Line(ParallelReport r) =>
        $"candidate {r.Candidate}: {r.Compared} compared, {r.Mismatches} differ ({r.MismatchRate:0.##}%), {r.CandidateErrors} candidate errors, "
        + $"{r.Skipped} skipped, {r.HashedBodies} compared by hash; p50/p99 stable {Ms(r.Stable.P50)}/{Ms(r.Stable.P99)} ms, candidate {Ms(r.CandidateLatency.P50)}/{Ms(r.CandidateLatency.P99)} ms";

    private static string Ms(double? value) => value is { } v ? v.ToString("0.##", CultureInfo.InvariantCulture) : "-";
}
