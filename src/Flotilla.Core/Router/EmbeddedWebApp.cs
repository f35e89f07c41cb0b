using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flotilla.Router;

/// <summary>
/// The start of every web app Flotilla runs inside itself (service endpoints, the router's admin
/// and metrics listeners, the API): no configuration sources and no log providers (a caller adds
/// what it needs), and a <see cref="DetachedLifetime"/> so only its owner stops it.
/// </summary>
internal static class EmbeddedWebApp
{
    public static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, DetachedLifetime>();
        return builder;
    }

    /// <summary>A listener from <paramref name="listeners"/>; a port in use throws what <paramref name="inUse"/> makes.</summary>
    public static async Task<ListenTarget> OpenAsync(IListenerSource listeners, string key, System.Net.IPEndPoint address, Func<Exception> inUse, CancellationToken cancellationToken)
    {
        try
        {
            return await listeners.OpenAsync(key, address, cancellationToken);
        }
        catch (PortInUseException)
        {
            throw inUse();
        }
    }

    /// <summary>Starts an app that listens on one target and returns its port; a port in use throws what <paramref name="inUse"/> makes (the app disposed).</summary>
    public static async Task<int> ListenAsync(WebApplication app, ListenTarget target, Func<Exception> inUse, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await app.DisposeAsync();
            throw inUse();
        }
        if (target.Handle is not null)
        {
            return target.Address.Port;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address).Port;
    }
}
