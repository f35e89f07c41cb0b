using System.Diagnostics;
using Flotilla.Runtime;

namespace Flotilla.Tests.Support;

/// <summary>The flotilla CLI run as a user runs it: a separate process, its output read line by line.</summary>
public sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Task _reading;

    private CliProcess(Process process)
    {
        _process = process;
        _reading = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
    }

    public static CliProcess Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>Starts the CLI with extra environment variables (FLOTILLA_CONFIG, FLOTILLA_TOKEN...).</summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // No debugger pipes or diagnostics socket in /tmp: a process a test kills -9 (a server, and the router
        // it starts, which inherits this) cannot remove its own, and three files were left per kill.
        start.Environment["DOTNET_EnableDiagnostics"] = "0";
        foreach (var (name, value) in env)
        {
            start.Environment[name] = value;
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "flotilla.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return new CliProcess(Process.Start(start)!);
    }

    public int Pid => _process.Id;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToList();
            }
        }
    }

    public string Output => string.Join('\n', Lines);

    private async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }

    public Task WaitForLine(Func<string, bool> match, TimeSpan timeout, string what) =>
        Eventually.Until(() => Lines.Any(match) || _process.HasExited, timeout, what).ContinueWith(t =>
        {
            t.GetAwaiter().GetResult();
            if (!Lines.Any(match))
            {
                throw new InvalidOperationException($"flotilla exited ({_process.ExitCode}) before {what}:\n{Output}");
            }
        }, TaskScheduler.Default);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        await _reading;
        return _process.ExitCode;
    }

    public void Interrupt() => Posix.Signal(_process.Id, Posix.SIGINT);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
