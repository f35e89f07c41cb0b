namespace Flotilla.Model;

/// <summary>
/// What runs a system's instances: <c>local</c> processes (the default) <c>docker</c> containers
/// on one Docker Engine, <c>swarm</c> services on a Docker Swarm, or <c>kubernetes</c> ReplicaSets on the cluster of a
/// kubeconfig context. Chosen per environment; the rest of the spec is the same on each.
/// </summary>
public static class RuntimeKind
{
    public const string Local = "local";
    public const string Docker = "docker";
    public const string Swarm = "swarm";
    public const string Kubernetes = "kubernetes";

    public static readonly string[] Known = [Local, Docker, Swarm, Kubernetes];

    /// <summary>Runtimes planned but not built yet: named so the error says so instead of "unknown".</summary>
    private static readonly string[] Planned = [];

    /// <summary>Runs instances in containers (and so can run a prebuilt <c>image:</c>).</summary>
    public static bool IsContainer(string runtime) => runtime is Docker or Swarm or Kubernetes;

    /// <summary>
    /// Places instances on machines of its own choosing (a node of the swarm or cluster), not on the
    /// control plane's machine, spreading them over its nodes' zones itself: Flotilla asks for a count
    /// and never moves an instance for its zone, which would fight the engine (the replacement lands
    /// where the engine puts it, and is moved again).
    /// </summary>
    public static bool IsCluster(string runtime) => runtime is Swarm or Kubernetes;

    /// <summary>Reads a <c>runtime:</c> value; a bad one is a spec error at its position.</summary>
    internal static string? Read(SpecReader reader, YamlDotNet.RepresentationModel.YamlNode node, string path)
    {
        var value = reader.String(node, path);
        if (value is null || Known.Contains(value))
        {
            return value;
        }
        reader.Error(node, path, Planned.Contains(value)
            ? $"runtime '{value}' is not available yet; this Flotilla runs: {string.Join(", ", Known)}"
            : $"unknown runtime '{value}': one of {string.Join(", ", Known)}");
        return null;
    }
}
