using System.Diagnostics;
using Npgsql;

namespace Flotilla.Databases.Postgres;

/// <summary>
/// Debian's PostgreSQL as Flotilla runs it (and the tests do): <c>initdb</c> of a data directory
/// with a generated superuser password (password authentication on 127.0.0.1 only, no Unix
/// socket outside the data directory), and the command line of its server. PostgreSQL refuses to
/// run as root: as root, every program runs as the <c>postgres</c> user Debian's package creates
/// (through <c>setpriv</c>), and the data directory is handed to that user.
/// </summary>
public static class PostgresServer
{
    public const string ServerUser = "postgres";
    public const string Superuser = "postgres";

    /// <summary>The newest installed PostgreSQL's programs (Debian: /usr/lib/postgresql/VERSION/bin), or null.</summary>
    public static string? BinDirectory() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "postgres")))
                .OrderByDescending(d => d.Version).Select(d => d.Dir).FirstOrDefault()
            : null;

    public static string RequireBinDirectory() => BinDirectory()
        ?? throw new DatabaseException("PostgreSQL is not installed on this machine (looked for /usr/lib/postgresql/*/bin/postgres); install it (apt-get install postgresql) or declare the engine 'external'");

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>A program line run as the server's user: itself, or behind setpriv when Flotilla runs as root.</summary>
    public static IReadOnlyList<string> AsServerUser(IReadOnlyList<string> command) => IsRoot
        ? ["setpriv", $"--reuid={ServerUser}", $"--regid={ServerUser}", "--init-groups", "--", .. command]
        : command;

    /// <summary>The server's command line: listening on 127.0.0.1:<paramref name="port"/> only, its socket inside its own directory.</summary>
    public static IReadOnlyList<string> Command(string dataDirectory, int port) => AsServerUser(
    [
        Path.Combine(RequireBinDirectory(), "postgres"), "-D", dataDirectory, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-k", dataDirectory, "-c", "listen_addresses=127.0.0.1", "-c", "logging_collector=off",
    ]);

    public static string AdminConnectionString(int port, string password) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = port, Username = Superuser, Password = password, Database = "postgres", Timeout = 5,
    }.ToString();

    /// <summary>Creates a cluster in <paramref name="dataDirectory"/> (which must not hold one) with <paramref name="password"/> for the superuser.</summary>
    public static async Task InitializeAsync(string dataDirectory, string password, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var passwordFile = Path.Combine(dataDirectory, "..", $".{Path.GetFileName(dataDirectory)}.pw");
        await File.WriteAllTextAsync(passwordFile, password, cancellationToken);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            await HandToServerUserAsync(dataDirectory, cancellationToken);
            await HandToServerUserAsync(passwordFile, cancellationToken);
            await RunAsync(AsServerUser([Path.Combine(RequireBinDirectory(), "initdb"), "-D", dataDirectory, "-U", Superuser, "--pwfile", passwordFile,
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]), "initdb", cancellationToken);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    /// <summary>As root, the server's user must own its files (and reach them: every directory above must let it pass).</summary>
    public static async Task HandToServerUserAsync(string path, CancellationToken cancellationToken, bool passThroughParents = true)
    {
        if (!IsRoot)
        {
            return;
        }
        await RunAsync(["chown", "-R", $"{ServerUser}:{ServerUser}", path], "chown", cancellationToken);
        for (var parent = Path.GetDirectoryName(Path.GetFullPath(path)); passThroughParents && parent is not null && parent != "/"; parent = Path.GetDirectoryName(parent))
        {
            var mode = File.GetUnixFileMode(parent);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                // Pass-through only (execute), never listing or reading: the data directory's other files stay private.
                File.SetUnixFileMode(parent, mode | UnixFileMode.OtherExecute);
            }
        }
    }

    /// <summary>Waits until the server accepts the admin's connections, or throws with the last error.</summary>
    public static async Task WaitReadyAsync(string adminConnectionString, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < timeout)
        {
            try
            {
                await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false }.ToString());
                await connection.OpenAsync(cancellationToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                last = e;
                await Task.Delay(100, cancellationToken);
            }
        }
        throw new DatabaseException($"PostgreSQL did not accept connections within {timeout.TotalSeconds:0} s: {last?.Message}", last);
    }

    /// <summary>
    /// A replica's data directory copied from the primary with pg_basebackup (WAL streamed during the
    /// copy) and set to stream from it under <paramref name="name"/> (what pg_stat_replication shows).
    /// </summary>
    public static async Task BaseBackupAsync(string adminConnectionString, int primaryPort, string dataDirectory, string name, CancellationToken cancellationToken)
    {
        var admin = new NpgsqlConnectionStringBuilder(adminConnectionString);
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await HandToServerUserAsync(dataDirectory, cancellationToken);
        var conninfo = $"host=127.0.0.1 port={primaryPort} user={admin.Username} application_name={name}";
        // The password by environment, never on a command line (which every user of the machine can read).
        await RunAsync(AsServerUser([Path.Combine(RequireBinDirectory(), "pg_basebackup"), "-d", conninfo, "-D", dataDirectory, "-R", "-X", "stream", "-c", "fast"]),
            "pg_basebackup", cancellationToken, new Dictionary<string, string> { ["PGPASSWORD"] = admin.Password ?? "" });
        // -R writes primary_conninfo; written again here with the password, so the replica can reconnect after any restart.
        var auto = Path.Combine(dataDirectory, "postgresql.auto.conf");
        await File.AppendAllTextAsync(auto, $"primary_conninfo = '{conninfo} password={admin.Password}'\n", cancellationToken);
        await HandToServerUserAsync(auto, cancellationToken, passThroughParents: false);
    }

    internal static async Task RunAsync(IReadOnlyList<string> command, string what, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new DatabaseException($"{what} could not be started");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new DatabaseException($"{what} failed (exit {process.ExitCode}): {(await error).Trim()} {(await output).Trim()}".Trim());
        }
    }
}
