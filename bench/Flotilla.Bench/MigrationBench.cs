using System.Diagnostics;
using Flotilla.Databases;
using Flotilla.Databases.Postgres;
using Npgsql;

namespace Flotilla.Bench;

/// <summary>
/// Issue 18's migration, without the load: add a column with a default and backfill another on a
/// table of N rows (1,000,000 by default), run by Flotilla's migration runner (one transaction, the
/// advisory lock, the history row) and, in the same run on the same server, by hand with psql in one
/// transaction, alternating, on a freshly filled table each time. What it shows: the runner's cost
/// beside psql's. (During a rolling update under ~1k req/s: not measured yet, see the README's gaps.)
/// </summary>
internal static class MigrationBench
{
    private const string Migration = """
        ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT 'none';
        UPDATE items SET score = id % 97;
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
        var reps = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
        var directory = Directory.CreateTempSubdirectory("flotilla-migration-bench");
        File.SetUnixFileMode(directory.FullName, File.GetUnixFileMode(directory.FullName) | UnixFileMode.OtherExecute);
        var port = Net.PortAllocator.Next();
        var password = PostgresDatabases.NewPassword();
        var data = Path.Combine(directory.FullName, "data");
        Process? server = null;
        try
        {
            await PostgresServer.InitializeAsync(data, password, CancellationToken.None);
            var command = PostgresServer.Command(data, port);
            var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
            command.Skip(1).ToList().ForEach(start.ArgumentList.Add);
            server = Process.Start(start)!;
            server.BeginErrorReadLine();
            server.BeginOutputReadLine();
            var admin = PostgresServer.AdminConnectionString(port, password);
            await PostgresServer.WaitReadyAsync(admin, TimeSpan.FromSeconds(60), CancellationToken.None);
            var file = Path.Combine(directory.FullName, "migrations");
            Directory.CreateDirectory(file);
            await File.WriteAllTextAsync(Path.Combine(file, "001_note.sql"), Migration);
            var files = MigrationSet.Read(file);

            Console.WriteLine($"# add a column with a default + backfill on {rows:N0} rows, PostgreSQL {Path.GetFileName(Path.GetDirectoryName(PostgresServer.RequireBinDirectory()))}, {reps} reps, alternating");
            Console.WriteLine("rep\tpsql_ms\tflotilla_ms\tratio");
            var (psqlTimes, ourTimes) = (new List<double>(), new List<double>());
            for (var rep = 1; rep <= reps; rep++)
            {
                await FillAsync(admin, rows);
                var clock = Stopwatch.StartNew();
                await PsqlAsync(port, password, $"BEGIN;\n{Migration}\nCOMMIT;");
                psqlTimes.Add(clock.Elapsed.TotalMilliseconds);

                await FillAsync(admin, rows);
                clock.Restart();
                await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(admin) { Database = "bench", Pooling = false }.ToString()))
                {
                    await MigrationRunner.RunAsync(connection, files, "bench", dryRun: false, CancellationToken.None);
                }
                ourTimes.Add(clock.Elapsed.TotalMilliseconds);
                Console.WriteLine($"{rep}\t{psqlTimes[^1]:0}\t{ourTimes[^1]:0}\t{ourTimes[^1] / psqlTimes[^1]:0.00}");
            }
            Console.WriteLine($"median\t{psqlTimes.Order().ElementAt(reps / 2):0}\t{ourTimes.Order().ElementAt(reps / 2):0}\t{ourTimes.Order().ElementAt(reps / 2) / psqlTimes.Order().ElementAt(reps / 2):0.00}");
            return 0;
        }
        finally
        {
            if (server is { HasExited: false })
            {
                Runtime.Posix.Signal(server.Id, Runtime.Posix.SIGINT);
                server.WaitForExit(30_000);
            }
            directory.Delete(recursive: true);
        }
    }

    private static async Task FillAsync(string admin, int rows)
    {
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(admin) { Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await new NpgsqlCommand("DROP DATABASE IF EXISTS bench", connection).ExecuteNonQueryAsync();
            await new NpgsqlCommand("CREATE DATABASE bench", connection).ExecuteNonQueryAsync();
        }
        await using var bench = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(admin) { Database = "bench", Pooling = false, CommandTimeout = 0 }.ToString());
        await bench.OpenAsync();
        await new NpgsqlCommand($"CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, score int); INSERT INTO items SELECT g, 'item ' || g, NULL FROM generate_series(1, {rows}) g", bench) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
        // Each alone: VACUUM and CHECKPOINT refuse to run inside a batch.
        await new NpgsqlCommand("VACUUM ANALYZE items", bench) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
        await new NpgsqlCommand("CHECKPOINT", bench) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
    }

    private static async Task PsqlAsync(int port, string password, string sql)
    {
        var start = new ProcessStartInfo("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", $"{port}", "-U", PostgresServer.Superuser, "-d", "bench", "-c", sql])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PGPASSWORD"] = password;
        using var psql = Process.Start(start)!;
        var error = psql.StandardError.ReadToEndAsync();
        await psql.WaitForExitAsync();
        if (psql.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql failed: {await error}");
        }
    }
}
