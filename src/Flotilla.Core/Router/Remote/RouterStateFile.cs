using System.Text.Json;

namespace Flotilla.Router.Remote;

/// <summary>
/// The router's last state on disk (<c>router-state.json</c> beside <c>router.json</c>): its
/// endpoints, routing table and flags, written after every change the admin API makes. A worker
/// that replaces a dead or retired one serves from it before it takes a single request, so a
/// router crash never answers 503 for a service that has ready instances.
/// </summary>
internal sealed class RouterStateFile(string path)
{
    private readonly Lock _gate = new();

    public const string FileName = "router-state.json";

    public string Path => path;

    public void Save(RouterHost router)
    {
        lock (_gate)
        {
            var state = new RouterState(router.Endpoints, router.Table, Environment.ProcessId, router.FlagsPort, router.FlagsDocument, router.FlagsAccess);
            var temporary = path + ".tmp";
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                JsonSerializer.Serialize(file, state, RouterAdmin.Json);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
    }

    /// <summary>
    /// Starts this router from a state written elsewhere (<c>flotilla router --state FILE</c>, e.g. the
    /// ConfigMap <c>flotilla render --target kubernetes</c> makes, where no control plane feeds it):
    /// checked whole, then written here. Null when done; otherwise what is wrong with it, and nothing is written.
    /// </summary>
    public string? SeedFrom(string source)
    {
        RouterState? seed;
        try
        {
            seed = JsonSerializer.Deserialize<RouterState>(File.ReadAllText(source), RouterAdmin.Json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return $"cannot read the router state {source}: {e.Message}";
        }
        var wrong = seed switch
        {
            null or { Endpoints: null } or { Table: null } or { Table.Services: null } => "it has no 'endpoints' and 'table'",
            _ when seed!.Table.Services.FirstOrDefault(s => s.Value is null) is { Key: { } empty } => $"service '{empty}' has no list of destinations",
            _ when seed!.Endpoints.FirstOrDefault(e => e.Value is < 1 or > 65535) is { Key: { } bad } => $"endpoint '{bad}' has port {seed.Endpoints[bad]}, not 1-65535",
            _ when seed.Table.Services.FirstOrDefault(s => s.Value.Any(d => d is null || string.IsNullOrEmpty(d.Host) || d.Port is < 1 or > 65535)) is { Key: { } bad } => $"service '{bad}' has a destination without a host or with a port outside 1-65535",
            _ => null,
        };
        if (wrong is not null)
        {
            return $"the router state {source} cannot be served: {wrong} (it is what GET /admin/state answers, or what 'flotilla render --target kubernetes' writes)";
        }
        lock (_gate)
        {
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(seed! with { Pid = Environment.ProcessId }, RouterAdmin.Json));
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temporary, path, overwrite: true);
        }
        return null;
    }

    /// <summary>When the state was last written (by this worker or the one before it).</summary>
    public DateTime LastWritten => File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.MinValue;

    public RouterState? Load()
    {
        try
        {
            return JsonSerializer.Deserialize<RouterState>(File.ReadAllText(path), RouterAdmin.Json);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Makes the router serve the saved state: endpoints opened (or closed), the table and the flags.</summary>
    public async Task RestoreAsync(RouterHost router, Action<string> report, CancellationToken cancellationToken)
    {
        if (Load() is not { } saved)
        {
            return;
        }
        // The table first: each endpoint then opens with its routes, and no waiting connection meets an empty one.
        router.Apply(RouterAdmin.Normalized(saved.Table));
        foreach (var (service, port) in saved.Endpoints)
        {
            try
            {
                await router.AddServiceAsync(service, port, cancellationToken);
            }
            catch (EndpointBindException e)
            {
                report(e.Message);
            }
        }
        foreach (var service in router.Endpoints.Keys.Except(saved.Endpoints.Keys).ToList())
        {
            await router.RemoveServiceAsync(service);
        }
        try
        {
            if (saved.FlagsDocument is { } document)
            {
                await router.ServeFlagsAsync(saved.FlagsPort, document, saved.FlagsAccess, cancellationToken);
            }
            else if (router.FlagsPort is not null)
            {
                await router.StopFlagsAsync();
            }
        }
        catch (Exception e) when (e is EndpointBindException or InvalidOperationException)
        {
            report($"flags not restored: {e.Message}");
        }
    }
}
