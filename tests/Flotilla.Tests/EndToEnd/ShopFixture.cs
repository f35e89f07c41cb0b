using Flotilla.Artifacts;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// The example shop, built once for all its tests into a temporary state directory. Fixed
/// endpoint ports are dropped so the tests never collide with anything else on the machine.
/// </summary>
public sealed class ShopFixture : IAsyncLifetime
{
    private readonly TempDirectory _state = new("flotilla-shop");

    public SystemSpec Spec { get; private set; } = null!;
    public string StateDirectory => _state.Path;

    public async Task InitializeAsync()
    {
        var spec = SpecLoader.Load(Path.Combine(Repository.Root, "examples", "shop"));
        Spec = spec with { Services = spec.Services.Select(s => s with { Http = s.Http with { Port = null } }).ToList() };
        var store = new ArtifactStore(new SystemHostOptions(StateDirectory).ArtifactsDirectory);
        foreach (var service in Spec.Services)
        {
            await store.EnsureAsync(service);
        }
    }

    public Task<SystemHost> StartAsync(SystemSpec? spec = null) =>
        SystemHost.StartAsync(spec ?? Spec, new SystemHostOptions(StateDirectory));

    public Task DisposeAsync()
    {
        _state.Dispose();
        return Task.CompletedTask;
    }
}
