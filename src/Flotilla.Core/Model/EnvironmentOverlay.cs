namespace Flotilla.Model;

/// <summary>
/// Applies an environment overlay to the base spec: per-service values over environment-wide ones
/// over the base; a port offset moves every fixed port (endpoints, previews, the flag port), so
/// environments of one spec run side by side on one machine.
/// </summary>
public static class EnvironmentOverlay
{
    public static SystemSpec Apply(SystemSpec spec, EnvironmentSpec overlay)
    {
        var services = spec.Services.Select(service =>
        {
            overlay.Services.TryGetValue(service.Name, out var own);
            var env = new SortedDictionary<string, string>(service.Env.ToDictionary(), StringComparer.Ordinal);
            foreach (var (key, value) in overlay.Env.Concat(own?.Env ?? new Dictionary<string, string>()))
            {
                env[key] = value;
            }
            return service with
            {
                Instances = own?.Instances ?? overlay.Instances ?? service.Instances,
                Env = env,
                Resources = Merge(service.Resources, own?.Resources),
                Http = service.Http with { Port = service.Http.Port + overlay.PortOffset },
                Rollout = service.Rollout with { PreviewPort = service.Rollout.PreviewPort + overlay.PortOffset },
                Database = own?.Database is { } moved && service.Database is { } database ? database with { Engine = moved.Engine, At = moved.At } : service.Database,
            };
        }).ToList();
        return spec with
        {
            Services = services,
            Environment = overlay.Name,
            Zones = overlay.Zones ?? spec.Zones,
            Runtime = overlay.Runtime ?? spec.Runtime,
            Flags = spec.Flags is { } flags ? flags with { Port = flags.Port + overlay.PortOffset } : null,
            Engines = Engines(spec.EngineList, overlay.Engines),
        };
    }

    /// <summary>An environment's engine replaces the base spec's of the same name whole (prod: replicas; dev: none); others are added.</summary>
    private static IReadOnlyList<EngineSpec>? Engines(IReadOnlyList<EngineSpec> baseline, IReadOnlyList<EngineSpec>? over)
    {
        if (over is null or { Count: 0 })
        {
            return baseline.Count == 0 ? null : baseline;
        }
        var merged = baseline.Where(e => over.All(o => o.Name != e.Name)).Concat(over).ToList();
        return merged;
    }

    private static ResourcesSpec? Merge(ResourcesSpec? baseline, ResourcesSpec? over) =>
        over is null ? baseline : new ResourcesSpec(over.Cpu ?? baseline?.Cpu, over.MemoryBytes ?? baseline?.MemoryBytes);
}
