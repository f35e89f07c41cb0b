namespace Flotilla.Store;

/// <summary>One applied spec: immutable once written. <see cref="DesiredJson"/> is what the controllers run.</summary>
public sealed record RevisionRecord(
    long Number,
    DateTimeOffset CreatedAt,
    string Actor,
    string? Environment,
    string SpecFile,
    string SpecYaml,
    string? GitCommit,
    string Summary,
    string DesiredJson);

/// <summary>A running instance as recorded when it was started, so a restarted control plane can adopt it.</summary>
public sealed record InstanceRecord(
    string Id,
    string Service,
    string Revision,
    int Pid,
    long? ProcessStartTime,
    int Port,
    string? Zone,
    DateTimeOffset StartedAt,
    string LaunchJson);

/// <summary>Who changed the desired state, when, how, and from which commit when known.</summary>
public sealed record AuditRecord(long Id, DateTimeOffset At, string Actor, string Action, string Detail, long? Revision, string? GitCommit, string? Tenant = null)
{
    /// <summary>The environment the record belongs to, filled in when records of several environments are merged.</summary>
    public string? Environment { get; init; }
}

/// <summary>What an operator changed beside the spec: a scale, a stop, a paused rollout.</summary>
public sealed record ServiceOverride(string Service, int? Instances, bool Stopped, bool Paused = false)
{
    public bool IsEmpty => Instances is null && !Stopped && !Paused;
}

/// <summary>An API token's identity (tenant null: server-wide); the secret itself is never stored, only its SHA-256.</summary>
public sealed record TokenRecord(string Name, string Role, DateTimeOffset CreatedAt, string? Tenant = null);

/// <summary>A tenant: a team's share of the server, with its quota as JSON (null: none).</summary>
public sealed record TenantRecord(string Name, DateTimeOffset CreatedAt, string? QuotaJson);

/// <summary>The revision an apply was based on is no longer the latest.</summary>
public sealed class StaleRevisionException(long expected, long current)
    : Exception($"the apply was based on revision {expected}, but the latest is {current}; re-read and apply again")
{
    public long Expected { get; } = expected;
    public long Current { get; } = current;
}

/// <summary>
/// A flag as an operator changed it at runtime: its whole definition, which the revision's flags
/// are served with until the spec changes that flag or the change is reset. <see cref="SpecJson"/>
/// is the spec's definition it was made over (how drift is shown, and how a later spec change is noticed).
/// </summary>
public sealed record FlagOverride(string Flag, string DefinitionJson, string SpecJson, string Actor, DateTimeOffset At);

/// <summary>
/// The git repository a control plane follows: where, which spec file, environment and branch, how
/// often, whether drift is reverted, and the last commit it applied.
/// </summary>
public sealed record GitOpsSource(string Repo, string Path, string? Environment, string Branch, TimeSpan Interval, bool SelfHeal, string AddedBy, DateTimeOffset AddedAt, string? LastCommit = null);

/// <summary>A stored secret as the store keeps it: sealed, never the value.</summary>
public sealed record SealedSecret(string Name, byte[] Nonce, byte[] Cipher, byte[] Tag, int Version, string Actor, DateTimeOffset At);

/// <summary>A secret as list shows it: name, version, who set it and when.</summary>
public sealed record SecretInfo(string Name, int Version, string Actor, DateTimeOffset At);
