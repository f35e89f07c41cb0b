namespace Flotilla.Model;

/// <summary>
/// A database engine declared under <c>engines:</c>. <see cref="Kind"/> is <c>postgres</c>; with
/// <see cref="ExternalSecret"/> it is a server someone else runs, whose admin connection string is
/// that secret of the environment's store; without it Flotilla runs the server itself, with
/// <see cref="Replicas"/> streaming replicas beside the primary.
/// </summary>
public sealed record EngineSpec(string Name, string Kind, int Replicas, string? ExternalSecret, SpecLocation At)
{
    public const string Postgres = "postgres";

    public static readonly string[] Kinds = [Postgres];

    public bool IsExternal => ExternalSecret is not null;
}
