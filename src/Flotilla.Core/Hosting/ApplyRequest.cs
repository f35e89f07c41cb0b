using Flotilla.Model;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// A spec to make the desired state. <see cref="SpecFile"/> is its path on this machine (build
/// directories are relative to it). With <see cref="BasedOn"/>, the apply is refused unless that
/// revision is still the latest. <see cref="AuditNote"/> goes into the audit record (GitOps: the commit's author and message).
/// </summary>
public sealed record ApplyRequest(string SpecYaml, string SpecFile, string? Environment, long? BasedOn, string Actor, string? GitCommit = null, string? AuditNote = null);

/// <summary>
/// The revision the apply made, or the latest one when nothing changed, and the spec's warnings
/// (flag rules served as flagd serves them although they look wrong), for the one who applied to read.
/// </summary>
public sealed record ApplyResult(RevisionRecord Revision, bool Unchanged)
{
    public IReadOnlyList<SpecError> Warnings { get; init; } = [];
}

/// <summary>A request the control plane refuses as it stands (unknown service, bad count, a port in use); nothing was changed.</summary>
public sealed class ControlPlaneException(string message, ControlPlaneError kind) : Exception(message)
{
    public ControlPlaneError Kind { get; } = kind;
}

public enum ControlPlaneError
{
    Invalid,
    NotFound,
    Conflict,
    /// <summary>Something the change needs is not there (the Docker Engine, an image): nothing was changed; try again once it is.</summary>
    Unavailable,
}
