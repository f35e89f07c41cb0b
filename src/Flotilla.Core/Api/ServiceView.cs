using Flotilla.Conditions;
using Flotilla.Hosting;

namespace Flotilla.Api;

/// <summary>One service as the API promises it inside GET /v1/status; mapped from <see cref="ServiceStatus"/>.</summary>
public sealed record ServiceView(
    string Name,
    int? EndpointPort,
    string? Endpoint,
    int Desired,
    int Declared,
    int Ready,
    string? Revision,
    int Restarts,
    string? Problem,
    bool Stopped,
    string? Release,
    IReadOnlyList<Condition> Conditions,
    IReadOnlyList<InstanceView> Instances)
{
    /// <summary>A scheduled function's schedule: next occurrence, last run, last skip and why (absent for anything else).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Controllers.Schedules.ScheduleStatus? Schedule { get; init; }

    public static ServiceView From(ServiceStatus service) => new(
        service.Name, service.EndpointPort, service.Endpoint, service.Desired, service.Declared, service.Ready, service.Revision,
        service.Restarts, service.Problem, service.Stopped, service.Release, service.Conditions, [.. service.Instances.Select(InstanceView.From)])
    {
        Schedule = service.Schedule,
    };
}
