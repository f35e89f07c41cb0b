using System.Globalization;
using Flotilla.Controllers.Rollouts;
using Flotilla.Hosting;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Flotilla.Cli.Output;

/// <summary>A canary or blue-green release on screen: the step, the split, both sides' live metrics, the analyses.</summary>
internal static class ReleaseView
{
    public static IRenderable Render(RolloutStatus status, ReleaseStatus release)
    {
        var rows = new List<IRenderable>
        {
            new Markup(Markup.Escape($"{status.Service}: {Line(release)}")),
        };
        if (release.Reason is not null)
        {
            rows.Add(new Markup($"[{(release.Degraded ? "red" : "yellow")}]{Markup.Escape(release.Reason)}[/]"));
        }
        var sides = Tables.Create("side", "revision", "traffic", "requests", "success", "p50 ms", "p95 ms", "p99 ms");
        sides.AddRow(Tables.Cells([release.Strategy == Model.RolloutStrategy.Canary ? "canary" : "new colour", release.Target, $"{release.Weight}%", .. Metrics(release.Canary)]));
        sides.AddRow(Tables.Cells(["stable", release.Stable, $"{100 - release.Weight}%", .. Metrics(release.StableSide)]));
        rows.Add(sides);
        var analyses = release.Analyses.Concat(release.Running is null ? [] : [release.Running]).ToList();
        if (analyses.Count > 0)
        {
            var table = Tables.Create("analysis", "state", "measurements", "last verdict");
            foreach (var a in analyses)
            {
                var last = a.Measurements.LastOrDefault();
                table.AddRow(Tables.Cells(a.Name, a.Phase.ToString().ToLowerInvariant(), a.Measurements.Count.ToString(CultureInfo.InvariantCulture),
                    last is null ? "-" : $"{last.Verdict.ToString().ToLowerInvariant()}: {string.Join("; ", last.Reasons)}"));
            }
            rows.Add(table);
        }
        if (release.Parallel is { } parallel)
        {
            rows.Add(ParallelView.Render(parallel));
        }
        return new Rows(rows);
    }

    public static string Line(ReleaseStatus r) =>
        $"{ReleaseState.Kind(r.Strategy)} {r.Stable} → {r.Target}: {r.Phase.ToString().ToLowerInvariant()}{(r.StepText == r.Phase.ToString().ToLowerInvariant() ? "" : $", {r.StepText}")}, {r.Weight}% of traffic on {r.Target}"
        + (r.PreviewPort is { } port ? $", preview on http://127.0.0.1:{port}" : "")
        + (r.Parallel is { } p ? $" | {ParallelView.Line(p)}" : $" | canary {Short(r.Canary)} | stable {Short(r.StableSide)}");

    private static string[] Metrics(WindowSummary w) =>
    [
        w.Requests.ToString(CultureInfo.InvariantCulture), w.SuccessRate is { } s ? $"{s:0.##}%" : "-", Ms(w.P50), Ms(w.P95), Ms(w.P99),
    ];

    private static string Short(WindowSummary w) => w.Requests == 0 ? "no requests" : $"{w.Requests} req, {w.SuccessRate:0.##}% ok, p95 {Ms(w.P95)} ms";

    private static string Ms(double? value) => value is { } v ? v.ToString("0.##", CultureInfo.InvariantCulture) : "-";
}
