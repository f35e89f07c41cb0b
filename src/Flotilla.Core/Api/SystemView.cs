using Flotilla.Hosting;

namespace Flotilla.Api;

/// <summary>The system as GET /v1/status promises it; mapped from the control plane's <see cref="SystemStatus"/>.</summary>
public sealed record SystemView(
    string Name,
    string? Environment,
    long Revision,
    bool AllReady,
    IReadOnlyList<ServiceView> Services,
    IReadOnlyList<ZoneStatus> Zones,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<Runtime.NodeStatus> Nodes)
{
    public static SystemView From(SystemStatus status) => new(
        status.Name, status.Environment, status.Revision, status.AllReady, [.. status.Services.Select(ServiceView.From)], status.Zones, status.Warnings, status.Nodes);
}
