using System.Security.Cryptography;
using System.Text;
using Flotilla.Artifacts;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Runtime;

namespace Flotilla.Hosting;

/// <summary>
/// One system running on this machine: builds its artifacts, opens its endpoints, and hands the
/// instance-set controller its desired state. A service that fails to build or bind is reported
/// and left out; every other service keeps running, and a service that was running before
/// keeps its last good revision.
/// </summary>
public sealed class SystemHost : IAsyncDisposable
{
    private readonly SystemHostOptions _options;
    private readonly ArtifactStore _artifacts;
    private readonly LocalProcessDriver _driver;
    private readonly RouterHost _router = new();
    private readonly InstanceSetController _controller;
    private readonly SemaphoreSlim _applying = new(1, 1);
    private IReadOnlyDictionary<string, string> _problems = new Dictionary<string, string>();
    private SystemSpec _spec;
    private int _disposed;

    private SystemHost(SystemSpec spec, SystemHostOptions options)
    {
        _spec = spec;
        _options = options;
        _artifacts = new ArtifactStore(options.ArtifactsDirectory);
        _driver = new LocalProcessDriver(options.StateDirectory, options.Time);
        Events = new EventLog(options.Time ?? TimeProvider.System);
        _controller = new InstanceSetController(_driver, _router, Events, options.Time);
    }

    public SystemSpec Spec => Volatile.Read(ref _spec);
    public EventLog Events { get; }
    public IReadOnlyDictionary<string, int> Endpoints => _router.Endpoints;
    public RoutingTable Routes => _router.Table;

    /// <summary>Reconcile passes that acted; constant while the system is converged.</summary>
    public long ActiveReconcilePasses => _controller.ActivePasses;
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    public static async Task<SystemHost> StartAsync(SystemSpec spec, SystemHostOptions options, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var host = new SystemHost(spec, options);
        try
        {
            var leftovers = await host._driver.StopLeftoversAsync();
            if (leftovers.Count > 0)
            {
                host.Events.Record(spec.Name, $"stopped {leftovers.Count} instances left running by a Flotilla that did not shut down cleanly: {string.Join(", ", leftovers)}", warning: true);
            }
            await host.ApplyAsync(spec, progress, cancellationToken);
            host._controller.Start();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Makes <paramref name="spec"/> the desired state: builds what changed, opens new endpoints, converges.</summary>
    public async Task ApplyAsync(SystemSpec spec, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        await _applying.WaitAsync(cancellationToken);
        try
        {
            var problems = new Dictionary<string, string>(StringComparer.Ordinal);
            var artifacts = new Dictionary<string, Artifact?>(StringComparer.Ordinal);
            foreach (var service in spec.Services)
            {
                try
                {
                    progress?.Invoke($"{service.Name}: preparing artifact");
                    artifacts[service.Name] = await _artifacts.EnsureAsync(service, m => progress?.Invoke($"{service.Name}: {m}"), cancellationToken);
                }
                catch (ArtifactBuildException e)
                {
                    problems[service.Name] = e.OutputTail.Count == 0 ? e.Message : $"{e.Message}:\n  {string.Join("\n  ", e.OutputTail)}";
                }
            }
            await OpenEndpointsAsync(spec, problems, cancellationToken);

            var previous = _controller.Desired.ToDictionary(d => d.Name, StringComparer.Ordinal);
            var endpoints = _router.Endpoints;
            var desired = new List<DesiredService>();
            foreach (var service in spec.Services)
            {
                if (!problems.ContainsKey(service.Name))
                {
                    desired.Add(Describe(spec, service, artifacts[service.Name], endpoints));
                }
                else if (previous.TryGetValue(service.Name, out var lastGood) && endpoints.ContainsKey(service.Name))
                {
                    desired.Add(lastGood with { Instances = service.Instances });
                }
            }
            Warnings = _driver.LimitsUnavailable is { } why
                ? spec.Services.Where(s => s.Resources is not null).Select(s => $"service '{s.Name}': resources are not enforced: {why}").ToList()
                : [];
            foreach (var (service, problem) in problems.Where(p => _problems.GetValueOrDefault(p.Key) != p.Value))
            {
                Events.Record(service, problem, warning: true);
            }
            Volatile.Write(ref _problems, problems);
            Volatile.Write(ref _spec, spec);
            _controller.SetDesired(desired);
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>Changes the instance count of one service (until the spec is applied again).</summary>
    public Task ScaleAsync(string service, int instances, CancellationToken cancellationToken = default)
    {
        var spec = Spec;
        if (spec.Find(service) is null)
        {
            throw new ArgumentException($"unknown service '{service}'; services: {string.Join(", ", spec.Services.Select(s => s.Name))}", nameof(service));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(instances);
        var services = spec.Services.Select(s => s.Name == service ? s with { Instances = instances } : s).ToList();
        return ApplyAsync(spec with { Services = services }, cancellationToken: cancellationToken);
    }

    private async Task OpenEndpointsAsync(SystemSpec spec, Dictionary<string, string> problems, CancellationToken cancellationToken)
    {
        var current = _router.Endpoints;
        foreach (var name in current.Keys.Where(n => spec.Find(n) is null))
        {
            await _router.RemoveServiceAsync(name);
        }
        foreach (var service in spec.Services)
        {
            if (current.TryGetValue(service.Name, out var port) && service.Http.Port is { } wanted && wanted != port)
            {
                await _router.RemoveServiceAsync(service.Name);
            }
            try
            {
                await _router.AddServiceAsync(service.Name, service.Http.Port, cancellationToken);
            }
            catch (EndpointBindException e)
            {
                problems[service.Name] = e.Message;
            }
        }
    }

    private static DesiredService Describe(SystemSpec spec, ServiceSpec service, Artifact? artifact, IReadOnlyDictionary<string, int> endpoints)
    {
        var command = artifact is { Entry.Count: > 0 } ? artifact.Entry : service.Command!;
        var env = ServiceEnvironment.For(spec, service, artifact, endpoints);
        var revision = RevisionOf(command, env, service);
        var withRevision = new SortedDictionary<string, string>(env.ToDictionary(), StringComparer.Ordinal) { ["FLOTILLA_REVISION"] = revision };
        return new DesiredService(service.Name, revision, service.Instances, command, withRevision, service.Http, service.Timeouts, service.Restart,
            service.DependsOn.Select(d => d.Name).ToList(), service.Resources);
    }

    /// <summary>A digest of everything an instance runs with; the instance count is not part of it.</summary>
    private static string RevisionOf(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> env, ServiceSpec service)
    {
        var text = new StringBuilder();
        text.AppendJoin('\0', command).Append('\n');
        foreach (var (key, value) in env.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append('=').Append(value).Append('\n');
        }
        text.Append(service.Http).Append(service.Timeouts).Append(service.Resources);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..10];
    }

    public SystemStatus Status()
    {
        var spec = Spec;
        var observed = _driver.Observe();
        var desired = _controller.Desired.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var endpoints = _router.Endpoints;
        var health = _controller.Health;
        var waiting = _controller.Waiting;
        var problems = Volatile.Read(ref _problems);
        var services = spec.Services.Select(service =>
        {
            var instances = observed.Where(i => i.Service == service.Name).OrderBy(i => i.StartedAt).ToList();
            var history = health.GetValueOrDefault(service.Name, ServiceHealth.None);
            var lastFailure = history.ConsecutiveFailures > 1 ? $"last failure: {history.LastFailure}" : null;
            var problem = problems.GetValueOrDefault(service.Name)
                ?? (waiting.GetValueOrDefault(service.Name) is { } wait ? string.Join("; ", new[] { wait, lastFailure }.OfType<string>()) : lastFailure);
            return new ServiceStatus(service.Name, endpoints.TryGetValue(service.Name, out var port) ? port : null,
                desired.TryGetValue(service.Name, out var d) ? d.Instances : service.Instances,
                instances.Count(i => i.InRotation), d?.Revision, history.TotalRestarts, problem, instances);
        }).ToList();
        return new SystemStatus(spec.Name, spec.Environment, services, Warnings);
    }

    /// <summary>Waits until every service has its desired number of ready instances and nothing else, or throws on timeout.</summary>
    public async Task WaitUntilConvergedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Status().AllReady)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the system did not converge within {Quantities.Format(timeout)}: " +
                    string.Join("; ", Status().Services.Where(s => s.Ready != s.Desired || s.Problem is not null)
                        .Select(s => $"{s.Name}: {s.Ready}/{s.Desired} ready{(s.Problem is null ? "" : ", " + s.Problem)}")));
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _controller.DisposeAsync();
        await _router.DisposeAsync();
        await _driver.DisposeAsync();
        LocalInstance.TryDelete(Path.Combine(_options.StateDirectory, "instances"));
        LocalInstance.TryDelete(Path.Combine(_options.ArtifactsDirectory, ".staging"));
        _applying.Dispose();
    }
}
