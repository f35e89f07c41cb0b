using Microsoft.AspNetCore.Builder;
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
}
