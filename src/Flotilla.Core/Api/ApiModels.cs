namespace Flotilla.Api;

/// <summary>POST /v1/apply: the spec's YAML, its path on the server's machine, and the revision it was based on.</summary>
public sealed record ApplyBody(string? Spec, string? File, string? Environment, long? BasedOn, string? GitCommit);

/// <summary>What an apply made; <see cref="Warnings"/> are the spec's (file:line:column: path: message), served anyway.</summary>
public sealed record ApplyResponse(long Revision, bool Unchanged, string Summary, IReadOnlyList<string>? Warnings = null);

public sealed record ScaleBody(int? Instances);

public sealed record UndoBody(long? ToRevision);

public sealed record TokenBody(string? Name, string? Role, string? Tenant = null);

public sealed record TokenResponse(string Name, string Role, string Token, string? Tenant = null);

public sealed record ShutdownBody(bool StopDataPlane);

/// <summary>One revision as history shows it (the spec text only on request of that revision).</summary>
public sealed record RevisionSummary(long Number, DateTimeOffset CreatedAt, string Actor, string? Environment, string SpecFile, string? GitCommit, string Summary);

public sealed record RevisionDetail(long Number, DateTimeOffset CreatedAt, string Actor, string? Environment, string SpecFile, string? GitCommit, string Summary, string Spec);

/// <summary>GET /v1/whoami: the caller's token name and role.</summary>
public sealed record CallerView(string Name, string Role, string? Tenant = null, string? ActsIn = null)
{
    public static CallerView Of(ApiCaller caller) => new(caller.Token.Name, caller.Token.Role, caller.Token.Tenant, caller.Tenant);
}
