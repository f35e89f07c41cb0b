using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Flotilla.Runtime.Swarm;

/// <summary>
/// What the Swarm driver says to a manager, and reads from it: the services of one control plane
/// (by its owner label), their tasks, the nodes; creating a revision's service, scaling it, removing it.
/// </summary>
internal sealed class SwarmManager(DockerClient client, string owner, Action<string, string, bool> record)
{
    private string Owner => owner;

    /// <summary>One look: this control plane's services, their tasks, and every node.</summary>
    public async Task<(IReadOnlyList<Listed> Services, IReadOnlyList<SwarmTask> Tasks, IReadOnlyDictionary<string, NodeStatus> Nodes)> ReadAsync(CancellationToken cancellationToken)
    {
        var services = (await client.Swarm.ListServicesAsync(new ServiceListParameters(), cancellationToken))
            .Where(s => s.Spec is not null && s.ID is not null && Label(s.Spec.Labels, SwarmServiceSpecs.OwnerLabel) == Owner)
            .Select(s => new Listed(s.ID!, s.Spec!, s.Version?.Index ?? 0)).ToList();
        var nodes = (await client.Swarm.ListNodesAsync(cancellationToken)).Select(ToNode).ToDictionary(n => n.Id, StringComparer.Ordinal);
        var tasks = new List<SwarmTask>();
        if (services.Count > 0)
        {
            var byId = services.ToDictionary(s => s.Id, StringComparer.Ordinal);
            var listed = await client.Tasks.ListAsync(new TasksListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = services.ToDictionary(s => s.Id, _ => true) },
            }, cancellationToken);
            tasks.AddRange(listed.Where(t => t.ServiceID is not null && byId.ContainsKey(t.ServiceID)).Select(t => ToTask(t, byId[t.ServiceID!])));
        }
        return (services, tasks, nodes);
    }

    private const string ReadyLabel = "io.flotilla.ready";

    /// <summary>Creates the service of a revision with its secrets (made first, named by their content).</summary>
    public async Task CreateAsync(InstanceLaunch launch, ulong replicas, Func<Secrets.SecretRef, string>? secretValues, CancellationToken cancellationToken)
    {
        var secrets = new List<(Secrets.SecretRef, string, string)>();
        foreach (var secret in launch.Secrets ?? [])
        {
            var value = (secretValues ?? throw new InvalidOperationException($"secret {secret.Variable}: this driver has no secret store")).Invoke(secret);
            var name = SwarmServiceSpecs.SecretName(Owner, launch.Revision, secret.Variable, value);
            var existing = (await client.Secrets.ListAsync(cancellationToken)).FirstOrDefault(s => s.Spec?.Name == name);
            var id = existing?.ID ?? (await client.Secrets.CreateAsync(new SwarmSecretSpec
            {
                Name = name,
                Data = Encoding.UTF8.GetBytes(value),
                Labels = new Dictionary<string, string> { [SwarmServiceSpecs.OwnerLabel] = Owner, [SwarmServiceSpecs.RevisionLabel] = launch.Revision },
            }, cancellationToken)).ID;
            secrets.Add((secret, id, name));
        }
        var spec = SwarmServiceSpecs.Build(Owner, launch, replicas, secrets);
        spec.Labels![ReadyLabel] = launch.Http.Ready ?? "";
        try
        {
            await client.Swarm.CreateServiceAsync(new ServiceCreateParameters { Service = spec }, cancellationToken);
            record(launch.Service, $"created Swarm service {spec.Name} for revision {launch.Revision} with {replicas} replica{(replicas == 1 ? "" : "s")}", false);
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Made by the pass before this one, seen by the next.
        }
    }

    /// <summary>Sets a revision's replicas; at zero the service (and its secrets) goes.</summary>
    public async Task ScaleAsync(Listed service, ulong replicas, CancellationToken cancellationToken)
    {
        try
        {
            if (replicas == 0)
            {
                await client.Swarm.RemoveServiceAsync(service.Id, cancellationToken);
                await RemoveSecretsAsync(service, cancellationToken);
                record(service.Service, $"removed Swarm service {service.Name} (no instance of its revision is wanted)", false);
                return;
            }
            var spec = service.Spec;
            spec.Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = replicas } };
            await client.Swarm.UpdateServiceAsync(service.Id, new ServiceUpdateParameters { Service = spec, Version = (long)service.Version }, cancellationToken);
        }
        catch (DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict || e.ResponseBody?.Contains("out of sequence", StringComparison.Ordinal) == true)
        {
            // Changed or gone since it was listed: the next pass sees it as it is now.
        }
    }

    private async Task RemoveSecretsAsync(Listed service, CancellationToken cancellationToken)
    {
        foreach (var reference in service.Spec.TaskTemplate?.ContainerSpec?.Secrets ?? [])
        {
            try
            {
                await client.Secrets.DeleteAsync(reference.SecretID ?? "", cancellationToken);
            }
            catch (DockerApiException)
            {
                // Still in use by a task on its way out, or by another revision with the same value: left for later.
            }
        }
    }

    private static NodeStatus ToNode(NodeListResponse node) => new(
        node.ID,
        node.Description?.Hostname ?? "?",
        node.Status?.Addr ?? "",
        Label(node.Spec?.Labels, "zone"),
        node.Status?.State ?? "unknown",
        node.Spec?.Availability ?? "unknown",
        node.Spec?.Role == "manager");

    private static SwarmTask ToTask(TaskResponse task, Listed service) => new(
        task.ID ?? "",
        service.Name,
        service.Service,
        service.Revision,
        (int)(task.Slot ?? 0),
        string.IsNullOrEmpty(task.NodeID) ? null : task.NodeID,
        task.Status?.State?.ToString().ToLowerInvariant() ?? "unknown",
        task.DesiredState?.ToString().ToLowerInvariant() ?? "unknown",
        task.Status?.Err,
        task.Status?.PortStatus?.Ports?.FirstOrDefault(p => p.TargetPort == SwarmServiceSpecs.ContainerPort)?.PublishedPort is { } port and > 0 ? (int)port : null,
        new DateTimeOffset(DateTime.SpecifyKind(task.CreatedAt ?? DateTime.UnixEpoch, DateTimeKind.Utc)),
        task.Status?.ContainerStatus?.ExitCode);

    private static string? Label(IDictionary<string, string>? labels, string key) => labels is not null && labels.TryGetValue(key, out var value) ? value : null;


    /// <summary>A Swarm service of this control plane, as listed.</summary>
    public sealed record Listed(string Id, ServiceSpec Spec, ulong Version)
    {
        public string Name => Spec.Name ?? Id;
        public string Service => Label(Spec.Labels, SwarmServiceSpecs.ServiceLabel) ?? Name;
        public string Revision => Label(Spec.Labels, SwarmServiceSpecs.RevisionLabel) ?? "";
        public string? ReadyPath => Label(Spec.Labels, ReadyLabel) is { Length: > 0 } path ? path : null;
        public ulong Replicas => Spec.Mode?.Replicated?.Replicas ?? 0;
    }
}
