using Flotilla.Api;
using Flotilla.Conditions;
using Flotilla.Events;
using Flotilla.Hosting;
using Flotilla.Runtime;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Flotilla.Cli.Output;

/// <summary>The live table of <c>flotilla up</c>: a row per service, then a row per instance.</summary>
internal static class StatusView
{
    public static IRenderable Render(SystemView status, IReadOnlyList<SystemEvent> recent, string footer)
    {
        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.Title = new TableTitle($"[bold]{Markup.Escape(status.Name)}[/]{(status.Environment is null ? "" : $" ({Markup.Escape(status.Environment)})")}");
        foreach (var column in new[] { "service / instance", "endpoint / state", "ready", "pid", "port", "restarts", "revision", "age" })
        {
            table.AddColumn(column);
        }
        foreach (var service in status.Services)
        {
            var readyColour = service.Ready == service.Desired ? "green" : service.Ready == 0 && service.Desired > 0 ? "red" : "yellow";
            table.AddRow(
                $"[bold]{Markup.Escape(service.Name)}[/]",
                Markup.Escape(service.Endpoint ?? "-"),
                $"[{readyColour}]{service.Ready}/{service.Desired}[/]",
                "", "",
                service.Restarts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(service.Revision ?? "-"),
                "");
            if (service.Problem is { } problem)
            {
                table.AddRow($"  [red]{Markup.Escape(Shorten(problem, 200))}[/]", "", "", "", "", "", "", "");
            }
            if (service.Release is { } release)
            {
                var colour = service.Conditions.Any(c => c.Type == ConditionType.Degraded) ? "red" : "yellow";
                table.AddRow($"  [{colour}]{Markup.Escape(Shorten(release, 200))}[/]", "", "", "", "", "", "", "");
            }
            if (service.Schedule is { } schedule)
            {
                var skipped = schedule.LastSkipped is { } skip ? $"; skipped {skip.UtcDateTime:HH:mm:ss}Z: {schedule.LastSkipReason}" : "";
                table.AddRow($"  [grey]{Markup.Escape(Shorten($"schedule '{schedule.Cron}' ({schedule.TimeZone}): next {schedule.Next?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) ?? "never"}Z{(schedule.LastRun is { } run ? $", last run {run.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z" : "")}{skipped}", 200))}[/]", "", "", "", "", "", "", "");
            }
            foreach (var instance in service.Instances)
            {
                table.AddRow(
                    $"  {Markup.Escape(instance.Id)}{(instance.Zone is null ? "" : $" [grey]{Markup.Escape(instance.Zone)}[/]")}{(instance.Node is null ? "" : $" [grey]on {Markup.Escape(instance.Host)}[/]")}",
                    State(instance),
                    "",
                    instance.Pid == 0 ? "-" : instance.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    instance.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "",
                    Markup.Escape(instance.Revision),
                    Tables.Age(instance.StartedAt));
            }
        }
        var lines = new List<IRenderable> { table };
        if (status.Zones.Count > 0)
        {
            lines.Add(new Markup("zones: " + string.Join("  ·  ", status.Zones.Select(z =>
                $"{Markup.Escape(z.Name)} {(z.Up ? "[green]up[/]" : "[red]down[/]")} ({z.Instances})"))));
        }
        if (status.Nodes.Count > 0)
        {
            lines.Add(new Markup("nodes: " + string.Join("  ·  ", status.Nodes.Select(n =>
                $"{Markup.Escape(n.Name)} {(n.Ready ? "[green]ready[/]" : $"[red]{Markup.Escape(n.State)}/{Markup.Escape(n.Availability)}[/]")} ({status.Services.Sum(s => s.Instances.Count(i => i.Node == n.Name))})"))));
        }
        lines.AddRange(status.Warnings.Select(w => new Markup($"[yellow]warning[/] {Markup.Escape(w)}")));
        lines.AddRange(recent.Select(e => new Markup(
            $"[grey]{e.At.ToLocalTime():HH:mm:ss}[/] {(e.Warning ? "[red]" : "[grey]")}{Markup.Escape(e.Subject)}: {Markup.Escape(Shorten(e.Message, 160))}[/]")));
        lines.Add(new Markup($"[grey]{Markup.Escape(footer)}[/]"));
        return new Rows(lines);
    }

    private static string State(InstanceView instance)
    {
        var colour = instance.State switch
        {
            InstanceState.Ready => "green",
            InstanceState.Starting or InstanceState.Stopping => "yellow",
            _ => "red",
        };
        var reason = instance.Reason is null || instance.State == InstanceState.Ready ? "" : $" [grey]{Markup.Escape(Shorten(instance.Reason, 80))}[/]";
        return $"[{colour}]{instance.State}[/]{reason}";
    }

    private static string Shorten(string text, int max)
    {
        text = text.ReplaceLineEndings(" ");
        return text.Length <= max ? text : text[..(max - 1)] + "…";
    }
}
