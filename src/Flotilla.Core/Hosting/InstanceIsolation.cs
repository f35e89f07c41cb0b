using Flotilla.Events;
using Flotilla.Isolation;

namespace Flotilla.Hosting;

/// <summary>
/// The composition hook of instance users into a control plane: decides them for its data directory
/// and, when instances are not isolated, says so once: an event in each environment (its tenant reads
/// it there) and one line on stderr per Flotilla process. Removes the instance users that nothing needs any more.
/// </summary>
internal static class InstanceIsolation
{
    private static int _logged;

    public static InstanceUsers Compose(ControlPlaneOptions options, EventLog events)
    {
        var users = InstanceUsers.For(options.DataDirectory, options.InstanceUsers, options.ArtifactsDirectory);
        if (users.Warning is { } warning)
        {
            events.Record("control-plane", warning, warning: true);
            if (Interlocked.Exchange(ref _logged, 1) == 0)
            {
                Console.Error.WriteLine($"flotilla: warning: {warning}");
            }
        }
        // Users are a finite system resource: the ones no process and no file needs any more go (see InstanceUsers.Cleanup.cs).
        try
        {
            if (users.RemoveUnused() is { Count: > 0 } removed)
            {
                events.Record("control-plane", $"removed {removed.Count} unused instance user(s) (no process, no file of theirs left): {string.Join(", ", removed)}");
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            events.Record("control-plane", $"could not remove unused instance users ({e.Message}); they stay until the next start", warning: true);
        }
        return users;
    }
}
