using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads one entry of <c>environments:</c>.</summary>
internal static class EnvironmentReader
{
    private static readonly IReadOnlyDictionary<string, string> NoEnv = new SortedDictionary<string, string>(StringComparer.Ordinal);

    public static EnvironmentSpec Read(SpecReader reader, string name, YamlNode node, string prefix = "environments")
    {
        var path = $"{prefix}.{name}";
        int? instances = null;
        IReadOnlyDictionary<string, string> env = NoEnv;
        var services = new SortedDictionary<string, ServiceOverlaySpec>(StringComparer.Ordinal);
        if (SpecReader.IsNull(node))
        {
            return new EnvironmentSpec(name, null, env, services, reader.At(node));
        }
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Environment))
        {
            switch (key)
            {
                case "instances":
                    instances = reader.Int(value, $"{path}.instances", 0, SpecLoader.MaxInstances, "a whole number of instances");
                    break;
                case "env":
                    env = reader.EnvMap(value, $"{path}.env");
                    break;
                case "services":
                    foreach (var (service, serviceNode, _) in reader.Mapping(value, $"{path}.services", null))
                    {
                        services[service] = ReadServiceOverlay(reader, $"{path}.services.{service}", serviceNode);
                    }
                    break;
            }
        }
        return new EnvironmentSpec(name, instances, env, services, reader.At(node));
    }

    private static ServiceOverlaySpec ReadServiceOverlay(SpecReader reader, string path, YamlNode node)
    {
        int? instances = null;
        IReadOnlyDictionary<string, string> env = NoEnv;
        ResourcesSpec? resources = null;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.ServiceOverlay))
        {
            switch (key)
            {
                case "instances":
                    instances = reader.Int(value, $"{path}.instances", 0, SpecLoader.MaxInstances, "a whole number of instances");
                    break;
                case "env":
                    env = reader.EnvMap(value, $"{path}.env");
                    break;
                case "resources":
                    resources = ServiceReader.ReadResources(reader, value, $"{path}.resources");
                    break;
            }
        }
        return new ServiceOverlaySpec(instances, env, resources, reader.At(node));
    }
}
