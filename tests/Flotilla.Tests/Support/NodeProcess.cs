using System.Diagnostics;

namespace Flotilla.Tests.Support;

/// <summary>
/// Runs Node.js or npm in one of the test's pinned package directories (tests/sdk/…): output and errors read
/// whole, bounded in time, and killed by its pid (with its children: npm runs node) when it overruns, so it is
/// never left running after a test.
/// </summary>
public static class NodeProcess
{
    /// <param name="purpose">What the tool is needed for, for the error when it is not installed.</param>
    public static async Task<(int Code, string Output, string Errors)> RunAsync(string directory, string purpose, string file, IEnumerable<string> arguments,
        TimeSpan limit, IReadOnlyDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{file}' is needed for {purpose} ({e.Message}); .ci/run installs Node.js and npm (apt-get install nodejs npm)", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(limit);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                throw new TimeoutException($"'{file} {string.Join(' ', start.ArgumentList)}' (pid {process.Id}) did not exit within {limit.TotalSeconds:0}s and was killed: {await output}{await error}");
            }
            return (process.ExitCode, await output, await error);
        }
    }
}
