using Flotilla.Conditions;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Runtime;
using Flotilla.Store;

namespace Flotilla.Hosting;

public sealed partial class ControlPlane
{
    /// <summary>Runs <paramref name="service"/> with <paramref name="instances"/> until the next apply (like kubectl scale).</summary>
    public Task ScaleAsync(string service, int instances, string actor) =>
        ChangeAsync(() =>
        {
            var declared = Known(service);
            if (instances is < 0 or > Model.SpecLoader.MaxInstances)
            {
                throw new ControlPlaneException($"instances must be between 0 and {Model.SpecLoader.MaxInstances}, not {instances}", ControlPlaneError.Invalid);
            }
            if (instances > 0 && !PreparesRuntime(declared.RuntimeName, declared.Image, runs: false))
            {
                // A federation's Kubernetes cluster may hold an image-less service at 0 (it runs the others); it cannot run one.
                throw new ControlPlaneException($"service '{service}' has no image, and this cluster runs on {declared.RuntimeName}, which runs images only; "
                    + "give the service 'image:' in the spec (or run it on another cluster)", ControlPlaneError.Invalid);
            }
            var own = _store.ServiceOverrides().GetValueOrDefault(service);
            var scaled = new ServiceOverride(service, instances == declared.Instances ? null : instances, own?.Stopped ?? false, own?.Paused ?? false);
            using var admitted = Admit(State, OverridesWith(scaled));
            _store.SetServiceOverride(scaled, actor, "scale",
                $"{service} scaled to {instances} (the spec says {declared.Instances})", _time.GetUtcNow());
            Events.Record(service, $"scaled to {instances} by {actor}{(own?.Stopped == true ? " (stays stopped until started)" : "")}");
        });

    /// <summary>Stops every instance of a service and keeps it stopped (across applies) until <see cref="StartServiceAsync"/>.</summary>
    public Task StopServiceAsync(string service, string actor) => SetStoppedAsync(service, true, actor);

    public Task StartServiceAsync(string service, string actor) => SetStoppedAsync(service, false, actor);

    private Task SetStoppedAsync(string service, bool stopped, string actor) =>
        ChangeAsync(() =>
        {
            Known(service);
            var own = _store.ServiceOverrides().GetValueOrDefault(service);
            var changed = new ServiceOverride(service, own?.Instances, stopped, own?.Paused ?? false);
            using var admitted = stopped ? NothingHeld.Instance : Admit(State, OverridesWith(changed));
            _store.SetServiceOverride(changed, actor, stopped ? "stop" : "start",
                $"{service} {(stopped ? "stopped" : "started")}", _time.GetUtcNow());
            Events.Record(service, $"{(stopped ? "stopped" : "started")} by {actor}");
        });

    /// <summary>Marks a zone failed (its instances are re-placed in the others) or back (the spread is restored).</summary>
    public Task SetZoneAsync(string zone, bool down, string actor) =>
        ChangeAsync(() =>
        {
            var zones = State.Zones;
            if (!zones.Contains(zone))
            {
                throw new ControlPlaneException(zones.Count == 0 ? "this system declares no zones ('zones:' in the spec)" : $"unknown zone '{zone}'; zones: {string.Join(", ", zones)}", ControlPlaneError.NotFound);
            }
            if (State.Services.FirstOrDefault(s => Model.RuntimeKind.IsCluster(s.RuntimeName)) is { } placed)
            {
                throw new ControlPlaneException($"zone '{zone}': this environment runs on {placed.RuntimeName}, which places instances over its nodes' zones itself, so Flotilla cannot move them; "
                    + (placed.RuntimeName == Model.RuntimeKind.Swarm ? "drain the zone's nodes instead (docker node update --availability drain NODE)" : "drain the zone's nodes instead (kubectl drain NODE)"), ControlPlaneError.Conflict);
            }
            var downNow = _store.ZonesDown();
            if (down && !downNow.Contains(zone) && zones.Count(z => !downNow.Contains(z)) == 1)
            {
                throw new ControlPlaneException($"zone '{zone}' is the last one up; marking it down would leave no zone to run instances in", ControlPlaneError.Conflict);
            }
            _store.SetZoneDown(zone, down, actor, _time.GetUtcNow());
            Events.Record($"zone/{zone}", down ? $"marked down by {actor}: its instances move to the other zones" : $"marked up by {actor}: instances spread back", warning: down);
        });

    private async Task ChangeAsync(Action change)
    {
        await _changing.WaitAsync();
        try
        {
            change();
            Publish();
        }
        finally
        {
            _changing.Release();
        }
    }

    private DesiredService Known(string service) =>
        State.Find(service) ?? throw new ControlPlaneException(
            State.Services.Count == 0 ? "nothing is applied yet: flotilla apply -f <spec>" : $"unknown service '{service}'; services: {string.Join(", ", State.Services.Select(s => s.Name))}",
            ControlPlaneError.NotFound);

    public SystemStatus Status()
    {
        var state = State;
        var observed = _driver.Observe();
        var desired = _controller.Desired.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var overrides = _store.ServiceOverrides();
        var endpoints = _router.Endpoints;
        var health = _controller.Health;
        var waiting = _controller.Waiting;
        var problems = Volatile.Read(ref _problems);
        var byService = observed.ToLookup(i => i.Service, StringComparer.Ordinal);
        var services = state.Services.Select(service =>
        {
            var instances = byService[service.Name].OrderBy(i => i.Zone, StringComparer.Ordinal).ThenBy(i => i.StartedAt).ToList();
            var history = health.GetValueOrDefault(service.Name, ServiceHealth.None);
            var lastFailure = history.ConsecutiveFailures > 1 ? $"last failure: {history.LastFailure}" : null;
            var problem = problems.GetValueOrDefault(service.Name)
                ?? (waiting.GetValueOrDefault(service.Name) is { } wait ? string.Join("; ", new[] { wait, lastFailure }.OfType<string>()) : lastFailure);
            var own = overrides.GetValueOrDefault(service.Name);
            var release = ReleaseCondition(service.Name);
            return new ServiceStatus(service.Name, endpoints.TryGetValue(service.Name, out var port) ? port : null,
                desired.TryGetValue(service.Name, out var d) ? d.Instances : service.Instances,
                instances.Count(i => i.InRotation), service.Revision, history.TotalRestarts, problem, instances)
            {
                Declared = service.Instances,
                Stopped = own?.Stopped ?? false,
                Release = release?.Text(),
                Conditions = release is null ? [] : [release],
                Schedule = _schedules.Statuses.GetValueOrDefault(service.Name),
            };
        }).ToList();
        var zonesDown = _store.ZonesDown();
        var zones = state.Zones.Select(z => new ZoneStatus(z, !zonesDown.Contains(z), observed.Count(i => i.Zone == z && i.IsLive))).ToList();
        var warnings = _driver.Swarm?.Unreachable is { } away ? [.. Warnings, $"the Swarm manager cannot be reached ({away}): what it runs now is not seen"] : Warnings;
        warnings = _driver.Kubernetes?.Unreachable is { } gone ? [.. warnings, $"Kubernetes cannot be reached ({gone}): what it runs now is not seen"] : warnings;
        return new SystemStatus(state.System, state.Environment, services, warnings)
        {
            Revision = _store.LatestRevisionNumber,
            Zones = zones,
            Nodes = _driver.Swarm?.Nodes ?? [],
        };
    }

    /// <summary>Waits until every service has its desired number of ready instances and nothing else, or throws on timeout.</summary>
    public async Task WaitUntilConvergedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Status().AllReady)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the system did not converge within {Model.Quantities.Format(timeout)}: " +
                    string.Join("; ", Status().Services.Where(s => s.Ready != s.Desired || s.Problem is not null)
                        .Select(s => $"{s.Name}: {s.Ready}/{s.Desired} ready{(s.Problem is null ? "" : ", " + s.Problem)}")));
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Desired against running, per service: what the controller still has to do, or why it cannot.</summary>
    public IReadOnlyList<ServiceDrift> Diff() =>
        Status().Services.Select(s =>
        {
            var live = s.Instances.Where(i => i.IsLive).ToList();
            if (ReleaseCondition(s.Name) is { } release)
            {
                // Two revisions side by side is what a release in progress is; its state is the difference.
                return new ServiceDrift(s.Name, s.Revision, s.Desired, live.Count, s.Ready, false, [release.Text()]) { Conditions = [release] };
            }
            var byRevision = live.GroupBy(i => i.Revision).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var differences = new List<string>();
            var current = byRevision.GetValueOrDefault(s.Revision ?? "");
            if (current != s.Desired)
            {
                differences.Add($"{current} of {s.Desired} instances run revision {s.Revision}");
            }
            differences.AddRange(byRevision.Where(r => r.Key != s.Revision).Select(r => $"{r.Value} still run revision {r.Key}"));
            if (s.Ready < s.Desired)
            {
                differences.Add($"{s.Ready} of {s.Desired} ready");
            }
            if (s.Problem is not null)
            {
                differences.Add(s.Problem);
            }
            // An operator's scale or stop is desired state, not drift: said, but in sync once it runs.
            var note = s.Declared == s.Desired ? null
                : s.Stopped ? $"stopped by an operator (the spec says {s.Declared})" : $"scaled to {s.Desired} by an operator (the spec says {s.Declared})";
            return new ServiceDrift(s.Name, s.Revision, s.Desired, live.Count, s.Ready, differences.Count == 0, differences, note);
        }).ToList();

    /// <summary>The log files of a service's instances (running ones first), or of one instance.</summary>
    public IReadOnlyList<(string Instance, string Path)> LogFiles(string service, string? instance)
    {
        Known(service);
        var directory = Path.Combine(DataDirectory, "logs", service);
        if (instance is not null)
        {
            var path = Path.Combine(directory, Path.GetFileName(instance) + ".log");
            return File.Exists(path) ? [(instance, path)]
                : throw new ControlPlaneException($"no log of instance '{instance}' of '{service}' (logs of exited instances are pruned after 20)", ControlPlaneError.NotFound);
        }
        return _driver.Observe().Where(i => i.Service == service && i.State != InstanceState.Exited && File.Exists(i.LogPath))
            .OrderBy(i => i.StartedAt).Select(i => (i.Id, i.LogPath)).ToList();
    }
}

/// <summary>One service's desired state against what runs.</summary>
public sealed record ServiceDrift(string Service, string? Revision, int Desired, int Running, int Ready, bool InSync, IReadOnlyList<string> Differences, string? Note = null)
{
    /// <summary>The differences a client decides on, typed (a release paused or degraded will not converge by waiting).</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];
}

/// <summary>A failure domain: whether it takes instances, and how many it runs.</summary>
public sealed record ZoneStatus(string Name, bool Up, int Instances);
