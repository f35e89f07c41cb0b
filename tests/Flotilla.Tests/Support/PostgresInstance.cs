using System.Diagnostics;
using Flotilla.Databases.Postgres;
using Npgsql;

namespace Flotilla.Tests.Support;

/// <summary>
/// A real PostgreSQL server for a test: a fresh cluster in a temporary directory, on 127.0.0.1 and a
/// free port, run as Debian's postgres user when the tests run as root. Disposal stops it and
/// deletes its files; <see cref="Kill"/> and <see cref="StartAsync"/> let a test take it away and back.
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    private readonly TempDirectory _dir = new("flotilla-pg");
    private Process? _process;

    private PostgresInstance(int port, string password)
    {
        Port = port;
        Password = password;
    }

    public int Port { get; }
    public string Password { get; }
    public string DataDirectory => Path.Combine(_dir.Path, "data");

    /// <summary>The postmaster's pid while it runs (setpriv execs it: the same process).</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;
    public string AdminConnectionString => PostgresServer.AdminConnectionString(Port, Password);

    public static bool Installed => PostgresServer.BinDirectory() is not null;

    public static async Task<PostgresInstance> StartNewAsync()
    {
        var server = new PostgresInstance(Flotilla.Net.PortAllocator.Next(), Guid.NewGuid().ToString("N"));
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await PostgresServer.InitializeAsync(server.DataDirectory, server.Password, timeout.Token);
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async Task StartAsync()
    {
        var command = PostgresServer.Command(DataDirectory, Port);
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        await PostgresServer.WaitReadyAsync(AdminConnectionString, TimeSpan.FromSeconds(60), CancellationToken.None);
    }

    /// <summary>kill -9 of the postmaster (its backends end when they notice, as after a crash).</summary>
    public void Kill()
    {
        _process?.Kill();
        _process?.WaitForExit(30_000);
        NpgsqlConnection.ClearAllPools();
    }

    public async Task<object?> ScalarAsync(string sql, string? database = null)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database ?? "postgres", Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            // SIGINT: PostgreSQL's fast shutdown (ends sessions, checkpoints, exits).
            Flotilla.Runtime.Posix.Signal(process.Id, 2);
            if (!process.WaitForExit(30_000))
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }
        _process?.Dispose();
        NpgsqlConnection.ClearAllPools();
        _dir.Dispose();
    }
}
