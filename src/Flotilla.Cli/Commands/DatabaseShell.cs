using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Databases;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla db shell SERVICE [--readonly] [-c SQL]</c>: psql (or sqlite3) on a service's database
/// with the credentials Flotilla keeps, for a person at 3 a.m. The password is never printed nor
/// put on a command line or in the environment: psql reads it from a pgpass file (0600, in a 0700
/// temporary directory) that is deleted when the session ends.
/// </summary>
internal static class DatabaseShell
{
    public static Command Create()
    {
        var service = new Argument<string>("service");
        var readOnly = new Option<bool>("--readonly") { Description = "Read only: the application's role, on a replica when there is one (else every transaction read-only); sqlite3 -readonly" };
        var sql = new Option<string?>("--command", "-c") { Description = "Run this SQL and exit instead of an interactive session" };
        return ApiCommand.Create("shell", "psql (or sqlite3) on a service's database with its credentials, never printing them (admin token; audited)", async (parse, client, _, ct) =>
        {
            var name = parse.GetValue(service)!;
            var answer = await client.PostAsync($"v1/databases/{Uri.EscapeDataString(name)}/session", new SessionBody(parse.GetValue(readOnly)), ct);
            var session = JsonSerializer.Deserialize<DatabaseSession>(answer, ApiJson.Options)!;
            return await RunAsync(session, parse.GetValue(sql), ct);
        }, service, readOnly, sql);
    }

    private static async Task<int> RunAsync(DatabaseSession session, string? sql, CancellationToken cancellationToken)
    {
        var sqlite = session.Engine == "sqlite";
        var client = sqlite ? "sqlite3" : "psql";
        var binary = Find(client) ?? throw new ApiException(
            $"{client} is not installed (not found on PATH): install it ({(sqlite ? "apt-get install sqlite3" : "apt-get install postgresql-client")}), then run 'flotilla db shell {session.Service}' again");
        var start = new ProcessStartInfo(binary) { UseShellExecute = false };
        string? scratch = null;
        try
        {
            if (sqlite)
            {
                if (session.ReadOnly)
                {
                    start.ArgumentList.Add("-readonly");
                }
                start.ArgumentList.Add(session.File!);
                if (sql is not null)
                {
                    start.ArgumentList.Add(sql);
                }
                Console.Error.WriteLine($"sqlite3 on {session.File} ({(session.ReadOnly ? "read-only" : "read-write")})");
            }
            else
            {
                scratch = Directory.CreateTempSubdirectory("flotilla-db-shell-").FullName;
                var pgpass = Path.Combine(scratch, "pgpass");
                // pgpass: host:port:database:user:password, ':' and '\' escaped; psql refuses a file others can read.
                using (var file = new FileStream(pgpass, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                using (var writer = new StreamWriter(file))
                {
                    await writer.WriteLineAsync(string.Join(':', new[] { session.Host!, $"{session.Port}", session.Database!, session.Username!, session.Password! }.Select(Escape)));
                }
                start.Environment["PGPASSFILE"] = pgpass;
                start.Environment.Remove("PGPASSWORD");
                start.Environment["PGAPPNAME"] = "flotilla db shell";
                start.Environment["PGCONNECT_TIMEOUT"] = "10";
                if (session.Options is { } options)
                {
                    start.Environment["PGOPTIONS"] = options;
                }
                foreach (var argument in new[] { "-h", session.Host!, "-p", $"{session.Port}", "-U", session.Username!, "-d", session.Database!, "-w" })
                {
                    start.ArgumentList.Add(argument);
                }
                if (sql is not null)
                {
                    start.ArgumentList.Add("-c");
                    start.ArgumentList.Add(sql);
                }
                Console.Error.WriteLine($"psql on database {session.Database} at {session.Host}:{session.Port} as {session.Username} ({(session.ReadOnly ? "read-only" : "read-write")})");
            }
            using var process = Process.Start(start)!;
            // Ctrl+C belongs to the shell (psql cancels its query); this process waits for it to end.
            await process.WaitForExitAsync(CancellationToken.None);
            return process.ExitCode;
        }
        finally
        {
            if (scratch is not null)
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static string Escape(string field) => field.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);

    private static string? Find(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
}
