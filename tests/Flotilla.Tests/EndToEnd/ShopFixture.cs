using Flotilla.Artifacts;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// The example shop, built once for all its tests into a shared artifact directory; each control
/// plane gets a data directory of its own. Fixed ports (the services' endpoints and the flag
/// service's 7199) are dropped so the tests never collide with anything else on the machine.
/// </summary>
public sealed class ShopFixture : IAsyncLifetime
{
    private readonly TempDirectory _state = new("flotilla-shop");

    public SystemSpec Spec { get; private set; } = null!;
    public string StateDirectory => _state.Path;

    public async Task InitializeAsync()
    {
        Spec = Load();
        var store = new ArtifactStore(ArtifactsDirectory);
        foreach (var service in Spec.Services)
        {
            await store.EnsureAsync(service);
        }
    }

    /// <summary>The shop's spec (in <paramref name="environment"/>, when given) without its fixed ports.</summary>
    public static SystemSpec Load(string? environment = null)
    {
        var spec = SpecLoader.Load(Path.Combine(Repository.Root, "examples", "shop"), environment);
        return spec with
        {
            Services = spec.Services.Select(s => s with { Http = s.Http with { Port = null } }).ToList(),
            Flags = spec.Flags is { } flags ? flags with { Port = null } : null,
        };
    }

    private string ArtifactsDirectory => System.IO.Path.Combine(StateDirectory, "artifacts");

    /// <summary>A fresh control plane (in-process router) with <paramref name="spec"/> applied as its first revision.</summary>
    public async Task<ControlPlane> StartAsync(SystemSpec? spec = null)
    {
        var data = System.IO.Path.Combine(StateDirectory, "planes", Guid.NewGuid().ToString("N")[..8]);
        var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(data) { ArtifactsDirectory = ArtifactsDirectory });
        await plane.ApplyAsync(spec ?? Spec);
        return plane;
    }

    /// <summary>Drains and stops everything the plane runs, as <c>up</c> does on Ctrl+C.</summary>
    public static async Task StopAsync(ControlPlane plane)
    {
        await plane.StopDataPlaneAsync();
        await plane.DisposeAsync();
    }

    public Task DisposeAsync()
    {
        _state.Dispose();
        return Task.CompletedTask;
    }
}
