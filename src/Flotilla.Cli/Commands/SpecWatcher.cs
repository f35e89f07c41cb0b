using Flotilla.Artifacts;
using Flotilla.Hosting;
using Flotilla.Model;

namespace Flotilla.Cli.Commands;

/// <summary>
/// Re-applies flotilla.yaml when it, or a JSON file beside it (the flag files), is saved, so <c>up</c>
/// converges on edits (instance counts, env, new services, flags). A spec with errors is not
/// applied; the running system is left as it was.
/// </summary>
internal sealed class SpecWatcher : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private readonly string _file;
    private readonly string? _environment;
    private readonly ControlPlane _host;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private CancellationTokenSource _debounce = new();

    public SpecWatcher(string file, string? environment, ControlPlane host)
    {
        _file = file;
        _environment = environment;
        _host = host;
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(file)!, Path.GetFileName(file))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
        };
        _watcher.Filters.Add("*.json");
        _watcher.EnableRaisingEvents = true;
        _watcher.Changed += (_, _) => Schedule();
        _watcher.Created += (_, _) => Schedule();
        _watcher.Renamed += (_, _) => Schedule();
    }

    public string LastResult { get; private set; } = "watching the spec for changes";

    private void Schedule()
    {
        var next = new CancellationTokenSource();
        Interlocked.Exchange(ref _debounce, next).Cancel();
        _ = ApplyAfterAsync(next.Token);
    }

    // Editors save in several writes; wait for the file to settle before reading it.
    private async Task ApplyAfterAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(300, cancellationToken);
            await _gate.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            var result = await _host.ApplyAsync(Request(_file, _environment));
            LastResult = $"{DateTime.Now:HH:mm:ss} applied {Path.GetFileName(_file)}: " +
                (result.Unchanged ? "no change" : $"revision {result.Revision.Number}, {result.Revision.Summary}") +
                (result.Warnings.Count == 0 ? "" : $"; {result.Warnings.Count} warning(s), first: {result.Warnings[0]}");
        }
        catch (SpecException e)
        {
            LastResult = $"{DateTime.Now:HH:mm:ss} not applied, {e.Errors.Count} error(s): {string.Join("; ", e.Errors)}";
        }
        catch (Exception e) when (e is IOException or ArtifactBuildException or ControlPlaneException)
        {
            LastResult = $"{DateTime.Now:HH:mm:ss} not applied: {e.Message}";
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The spec file as it is now, applied by this user from the commit it is in.</summary>
    public static ApplyRequest Request(string file, string? environment) =>
        new(File.ReadAllText(file), file, environment, null, $"up:{Environment.UserName}", Client.GitCommit.Of(file));

    public void Dispose()
    {
        _watcher.Dispose();
        _debounce.Cancel();
    }
}
