using Microsoft.Extensions.Hosting;

namespace Flotilla.Router;

/// <summary>
/// A host lifetime that ignores Ctrl+C and SIGTERM: endpoints are stopped by their owner, in
/// order (drain first), never by a signal handler of their own.
/// </summary>
internal sealed class DetachedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
