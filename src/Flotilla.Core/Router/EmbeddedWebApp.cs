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

    /// <summary>Starts an app that listens on one port and returns the port it got; a port in use throws what <paramref name="inUse"/> makes (the app disposed).</summary>
    public static async Task<int> ListenAsync(WebApplication app, Func<Exception> inUse, CancellationToken cancellationToken)
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
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address).Port;
    }
}
