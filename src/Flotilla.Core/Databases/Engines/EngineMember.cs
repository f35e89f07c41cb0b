namespace Flotilla.Databases.Engines;

/// <summary>
/// One server of an engine Flotilla runs: the primary or a streaming replica (<c>replica-1</c>...),
/// with its own directory under the data directory's <c>engines/ENGINE/</c> and its own fixed port
/// (chosen once, so connection strings stay valid across restarts).
/// </summary>
public sealed record EngineMember(string Engine, string Role, string Directory, int Port)
{
    public const string PrimaryRole = "primary";

    public bool IsPrimary => Role == PrimaryRole;

    public string DataDirectory => Path.Combine(Directory, "data");

    public string LogFile => Path.Combine(Directory, "server.log");

    public override string ToString() => $"engine '{Engine}' {Role} (port {Port})";
}
