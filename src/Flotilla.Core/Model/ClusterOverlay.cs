namespace Flotilla.Model;

/// <summary>
/// What each cluster of a federated spec runs: the spec (its environment already applied) with the
/// cluster's overlay over it, on the cluster's runtime. Every cluster's router runs on the machine of
/// the control plane that drives it, so fixed ports must differ between clusters (a portOffset each).
/// </summary>
public static class ClusterOverlay
{
    /// <summary>The spec of every cluster, in release order; throws <see cref="SpecException"/> naming the cluster when one cannot run.</summary>
    public static IReadOnlyList<(ClusterSpec Cluster, SystemSpec Spec)> All(SystemSpec spec)
    {
        var errors = new List<SpecError>();
        var overlaid = new List<(ClusterSpec, SystemSpec)>();
        var taken = new Dictionary<int, (string Cluster, string What)>();
        foreach (var cluster in spec.Clusters)
        {
            try
            {
                var own = For(spec, cluster);
                overlaid.Add((cluster, own));
                foreach (var (port, what) in FixedPorts(own))
                {
                    if (taken.TryGetValue(port, out var first))
                    {
                        errors.Add(new SpecError(cluster.At, $"clusters.{cluster.Name}.portOffset",
                            $"port {port} ({what}) is already {first.What} of cluster '{first.Cluster}': the routers of all clusters run on this machine; give this cluster its own portOffset"));
                        break;
                    }
                    taken[port] = (cluster.Name, what);
                }
            }
            catch (SpecException e)
            {
                errors.AddRange(e.Errors);
            }
        }
        return errors.Count > 0 ? throw new SpecException(errors) : overlaid;
    }

    /// <summary>One cluster's spec: no clusters of its own, the environment's name kept (the cluster's name is not an environment).</summary>
    public static SystemSpec For(SystemSpec spec, ClusterSpec cluster)
    {
        var own = EnvironmentOverlay.Apply(spec, cluster.Overlay) with { Environment = spec.Environment, Clusters = [], ClusterRelease = ClusterReleaseSpec.Parallel };
        var beyond = FixedPorts(own).Where(p => p.Port > 65535).ToList();
        if (beyond.Count > 0)
        {
            throw new SpecException([new SpecError(cluster.At, $"clusters.{cluster.Name}.portOffset",
                $"portOffset {cluster.Overlay.PortOffset} moves {string.Join(", ", beyond.Select(b => $"{b.What} ({b.Port})"))} past 65535; use a smaller offset")]);
        }
        try
        {
            // What a cluster runs must suit its kind (an image needs a container runtime; on Kubernetes every service needs an
            // image and a database the nodes reach, as for a whole environment there). A service the cluster runs no instance of
            // ('instances: 0' in its overlay) is not held to it, so that one spec can span a local cluster and a Kubernetes one.
            var runs = own with { Services = [.. own.Services.Where(Runs)] };
            _ = own.RuntimeName == RuntimeKind.Kubernetes ? SpecLoader.KubernetesNeedsImages(SpecLoader.SqliteNeedsOneMachine(SpecLoader.ImagesNeedDocker(runs))) : SpecLoader.ImagesNeedDocker(runs);
            return own;
        }
        catch (SpecException e)
        {
            throw new SpecException([.. e.Errors.Select(x => x with
            {
                Message = $"{x.Message} in cluster '{cluster.Name}' (kind {cluster.Kind}, at {cluster.At}); if that cluster should not run it, give it 'services: {{ {x.Path.Split('.')[1]}: {{ instances: 0 }} }}' there",
            })]);
        }
    }

    /// <summary>Whether a cluster runs anything of a service: some instances, or a function (which starts from zero).</summary>
    public static bool Runs(ServiceSpec service) => service.Instances > 0 || service.Function is not null;

    private static IEnumerable<(int Port, string What)> FixedPorts(SystemSpec spec) =>
        spec.Services.SelectMany(s => new[] { (Port: s.Http.Port, What: $"the endpoint of '{s.Name}'"), (Port: s.Rollout.PreviewPort, What: $"the preview of '{s.Name}'") })
            .Append((Port: spec.Flags?.Port, What: "the flag port"))
            .Where(p => p.Port is not null).Select(p => (p.Port!.Value, p.What));
}
