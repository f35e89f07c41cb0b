namespace Flotilla.Model;

/// <summary>
/// A database engine declared under <c>engines:</c>. <see cref="Kind"/> is <c>postgres</c>; with
/// <see cref="ExternalSecret"/> it is a server someone else runs, whose admin connection string is
/// that secret of the environment's store; without it Flotilla runs the server itself, with
/// <see cref="Replicas"/> streaming replicas beside the primary. <see cref="FailoverAfter"/>
/// (<c>failover: 10s</c>) is how long its primary may stay down, restarted in place, before the most
/// up-to-date replica is promoted (<c>0s</c>: at once).
/// </summary>
public sealed record EngineSpec(string Name, string Kind, int Replicas, string? ExternalSecret, SpecLocation At, TimeSpan? FailoverAfter = null)
{
    public const string Postgres = "postgres";

    /// <summary>Long enough for a restart in place (crash recovery takes ~1-3 s here), short enough that writes are not refused for long.</summary>
    public static readonly TimeSpan DefaultFailoverAfter = TimeSpan.FromSeconds(10);

    public TimeSpan Failover => FailoverAfter ?? DefaultFailoverAfter;

    public static readonly string[] Kinds = [Postgres];

    public bool IsExternal => ExternalSecret is not null;
}
