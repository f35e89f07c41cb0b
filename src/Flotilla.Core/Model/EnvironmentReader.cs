using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads one entry of <c>environments:</c> and the per-service overlays inside it.</summary>
internal static class EnvironmentReader
{
    private static readonly IReadOnlyDictionary<string, string> NoEnv = new SortedDictionary<string, string>(StringComparer.Ordinal);

    public static EnvironmentSpec Read(SpecReader reader, string name, YamlNode node) => ReadOverlay(reader, name, $"environments.{name}", node, SpecKeys.Environment);

    /// <summary>
    /// An overlay at <paramref name="path"/> (an environment, or a cluster: <see cref="ClusterReader"/>) with the
    /// keys <paramref name="keys"/> allows; keys that are not overlay values are the caller's to read.
    /// </summary>
    public static EnvironmentSpec ReadOverlay(SpecReader reader, string name, string path, YamlNode node, IReadOnlyCollection<string>? keys)
    {
        var services = new SortedDictionary<string, ServiceOverlaySpec>(StringComparer.Ordinal);
        if (SpecReader.IsNull(node))
        {
            return new EnvironmentSpec(name, null, NoEnv, services, reader.At(node));
        }
        var values = ReadValues(reader, path, node, keys);
        if (values.Services is { } servicesNode)
        {
            foreach (var (service, serviceNode, _) in reader.Mapping(servicesNode, $"{path}.services", null))
            {
                var overlay = ReadValues(reader, $"{path}.services.{service}", serviceNode, SpecKeys.ServiceOverlay);
                services[service] = new ServiceOverlaySpec(overlay.Instances, overlay.Env, overlay.Resources, reader.At(serviceNode), overlay.Database);
            }
        }
        return new EnvironmentSpec(name, values.Instances, values.Env, services, reader.At(node), values.Zones, values.Flags, values.PortOffset, values.Runtime, values.Engines);
    }

    private sealed record OverlayValues(int? Instances, IReadOnlyDictionary<string, string> Env, ResourcesSpec? Resources, YamlNode? Services, IReadOnlyList<string>? Zones = null, FlagsDeclaration? Flags = null, int PortOffset = 0, string? Runtime = null,
        IReadOnlyList<EngineSpec>? Engines = null, DatabaseOverlaySpec? Database = null);

    /// <summary>The values an overlay may set; <paramref name="keys"/> says which are allowed at this level.</summary>
    private static OverlayValues ReadValues(SpecReader reader, string path, YamlNode node, IReadOnlyCollection<string>? keys)
    {
        var values = new OverlayValues(null, NoEnv, null, null);
        foreach (var (key, value, _) in reader.Mapping(node, path, keys))
        {
            values = key switch
            {
                "instances" => values with { Instances = reader.Instances(value, $"{path}.instances") },
                "env" => values with { Env = reader.EnvMap(value, $"{path}.env") },
                "runtime" => values with { Runtime = RuntimeKind.Read(reader, value, $"{path}.runtime") },
                "zones" => values with { Zones = SpecLoader.ReadZones(reader, value, $"{path}.zones") },
                "portOffset" => values with { PortOffset = reader.Int(value, $"{path}.portOffset", 0, 60000, "a port offset") ?? 0 },
                "flags" => values with { Flags = FlagsReader.Declaration(reader, value, $"{path}.flags", topLevel: false) },
                "resources" => values with { Resources = ServiceReader.ReadResources(reader, value, $"{path}.resources") },
                "engines" => values with { Engines = DatabaseReader.Engines(reader, value, $"{path}.engines") },
                "database" => values with { Database = DatabaseReader.Overlay(reader, value, $"{path}.database") },
                "services" => values with { Services = value },
                _ => values,
            };
        }
        return values;
    }
}
