using Flotilla.Events;
using Flotilla.Isolation;

namespace Flotilla.Hosting;

/// <summary>
/// The composition hook of instance users into a control plane: decides them for its data directory
/// and, when instances are not isolated, says so once: an event in each environment (its tenant reads
/// it there) and one line on stderr per Flotilla process.
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
        return users;
    }
}
