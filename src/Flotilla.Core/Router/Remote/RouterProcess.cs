using System.Text.Json;
using Flotilla.Runtime;

namespace Flotilla.Router.Remote;

/// <summary>
/// The router's own process: spawned in its own process group (so it is not a child that dies
/// with the control plane), recorded in <c>router.json</c> (pid, kernel start time, admin port,
/// secret) so that the next control plane finds the very same process again.
/// </summary>
internal sealed record RouterProcess(int Pid, long? StartTime, int AdminPort, string Secret)
{
    private const string FileName = "router.json";

    public bool IsRunning => Posix.IsRunning(Pid, StartTime);

    public static RouterProcess? Load(string dataDirectory)
    {
        try
        {
            return JsonSerializer.Deserialize<RouterProcess>(File.ReadAllText(Path.Combine(dataDirectory, FileName)), RouterAdmin.Json);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    /// <param name="extraArguments">Appended after <c>router --admin-port N</c> (e.g. <c>--metrics 127.0.0.1:9464</c>).</param>
    public static RouterProcess Spawn(string dataDirectory, IReadOnlyList<string> routerCommand, IReadOnlyList<string>? extraArguments = null)
    {
        var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var adminPort = Net.PortAllocator.Next();
        var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        env[RouterAdmin.SecretVariable] = secret;
        // Server GC: ~20% more throughput for the proxy (bench/router.sh); the rest of Flotilla runs workstation GC.
        env.TryAdd("DOTNET_gcServer", "1");
        // Socket completions run on the epoll threads instead of a thread-pool hop each: +20% saturated
        // throughput, a third lower p50 at 3k req/s (A/B with the router alone, bench/router.sh). Safe
        // because nothing on the router's request path blocks.
        env.TryAdd("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        var logs = Path.Combine(dataDirectory, "logs");
        Directory.CreateDirectory(logs);
        var log = Path.Combine(logs, "router.log");
        File.AppendAllText(log, $"--- {DateTimeOffset.UtcNow:O} flotilla: starting the router, admin port {adminPort}\n");
        var args = routerCommand.Skip(1).Concat(["router", "--admin-port", adminPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]).Concat(extraArguments ?? []).ToList();
        var pid = PosixSpawn.Start(routerCommand[0], args, env, dataDirectory, log);
        // Reap it if it ends while we run, so its end is seen and it does not linger as a zombie.
        _ = Task.Factory.StartNew(() => PosixSpawn.WaitForExit(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var process = new RouterProcess(pid, Posix.StartTime(pid), adminPort, secret);
        var path = Path.Combine(dataDirectory, FileName);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(process, RouterAdmin.Json));
        File.SetUnixFileMode(path + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(path + ".tmp", path, overwrite: true);
        return process;
    }

    /// <summary>SIGTERM, then SIGKILL if it is still there after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Posix.SignalGroup(Pid, Posix.SIGTERM);
        var deadline = DateTime.UtcNow + grace;
        while (IsRunning && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Posix.SignalGroup(Pid, Posix.SIGKILL);
    }
}
