namespace Flotilla.Databases.Engines;

/// <summary>
/// One server of an engine Flotilla runs, named by its slot (<c>primary</c>, <c>replica-1</c>...): its
/// own directory under the data directory's <c>engines/ENGINE/</c> and its own fixed port (chosen
/// once, so connection strings stay valid across restarts). <see cref="IsPrimary"/> is whether it
/// is the primary now: the <c>primary</c> slot until a failover promotes a replica (see
/// <see cref="EngineLayout"/>'s leader file), so a slot's name is where it started, not what it is.
/// </summary>
public sealed record EngineMember(string Engine, string Role, string Directory, int Port, bool IsPrimary)
{
    public const string PrimaryRole = "primary";

    public string DataDirectory => Path.Combine(Directory, "data");

    public string LogFile => Path.Combine(Directory, "server.log");

    public override string ToString() => IsPrimary == (Role == PrimaryRole)
        ? $"engine '{Engine}' {Role} (port {Port})"
        : $"engine '{Engine}' {Role} (port {Port}, {(IsPrimary ? "the primary since a failover" : "a replica since a failover")})";
}
