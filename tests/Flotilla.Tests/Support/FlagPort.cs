using Flotilla.Router;

namespace Flotilla.Tests.Support;

/// <summary>A router serving one flagd document over OFREP on a port of its own, and a client for it.</summary>
public sealed class FlagPort : IAsyncDisposable
{
    private FlagPort()
    {
    }

    public RouterHost Router { get; } = new();
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };
    public int Port { get; private set; }

    public static async Task<FlagPort> StartAsync(string document, string? access = null)
    {
        var flags = new FlagPort();
        flags.Port = await flags.Router.ServeFlagsAsync(null, document, access);
        return flags;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Router.DisposeAsync();
    }
}
