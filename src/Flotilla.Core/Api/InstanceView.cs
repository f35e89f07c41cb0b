using Flotilla.Runtime;

namespace Flotilla.Api;

/// <summary>
/// One instance as the API promises it (GET /v1/instances, and inside GET /v1/status). A contract, mapped
/// from the runtime's <see cref="InstanceStatus"/> at the API's edge, so the runtime's record can change
/// (its log path, process start time, stop bookkeeping) without changing what clients read. <see cref="Host"/>
/// is where it is reached (127.0.0.1 on one machine, a node's address on Swarm); <see cref="Node"/> the
/// node an engine placed it on, or null.
/// </summary>
public sealed record InstanceView(
    string Id,
    string Service,
    string Revision,
    int Pid,
    int Port,
    InstanceState State,
    DateTimeOffset StartedAt,
    DateTimeOffset? ReadySince,
    int? ExitCode,
    string? Reason,
    string? Zone,
    string Host,
    string? Node)
{
    public static InstanceView From(InstanceStatus instance) => new(
        instance.Id, instance.Service, instance.Revision, instance.Pid, instance.Port, instance.State,
        instance.StartedAt, instance.ReadySince, instance.ExitCode, instance.Reason, instance.Zone, instance.Host, instance.Node);
}
