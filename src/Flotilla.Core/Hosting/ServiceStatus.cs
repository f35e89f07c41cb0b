using Flotilla.Conditions;
using Flotilla.Runtime;

namespace Flotilla.Hosting;

/// <summary>One service as a user sees it: endpoint, counts, revision, and what is wrong if anything.</summary>
public sealed record ServiceStatus(
    string Name,
    int? EndpointPort,
    int Desired,
    int Ready,
    string? Revision,
    int Restarts,
    string? Problem,
    IReadOnlyList<InstanceStatus> Instances)
{
    public string? Endpoint => EndpointPort is { } port ? $"http://127.0.0.1:{port}" : null;

    /// <summary>The count in the spec; differs from <see cref="Desired"/> after a scale or a stop.</summary>
    public int Declared { get; init; } = Desired;

    public bool Stopped { get; init; }

    /// <summary>A canary, blue-green or parallel release in progress, paused or aborted, in words; null when none.</summary>
    public string? Release { get; init; }

    /// <summary>The service's conditions, typed: today its release's (progressing, paused or degraded), when it has one.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    /// <summary>A scheduled function's schedule: next occurrence, last run and last skip (null for anything else).</summary>
    public Controllers.Schedules.ScheduleStatus? Schedule { get; init; }
}

/// <summary>A snapshot of the whole system.</summary>
public sealed record SystemStatus(string Name, string? Environment, IReadOnlyList<ServiceStatus> Services, IReadOnlyList<string> Warnings)
{
    /// <summary>The latest applied revision; 0 before the first apply.</summary>
    public long Revision { get; init; }

    public IReadOnlyList<ZoneStatus> Zones { get; init; } = [];

    /// <summary>The machines of an engine that places instances itself (Swarm's nodes); empty on one machine.</summary>
    public IReadOnlyList<Runtime.NodeStatus> Nodes { get; init; } = [];

    public bool AllReady => Services.All(s => s.Problem is null && s.Ready == s.Desired && s.Instances.All(i => i.State == InstanceState.Ready));
}
