using System.Text.Json;
using Flotilla.Conditions;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Rollouts;

namespace Flotilla.Hosting;

/// <summary>
/// Canary, blue-green and parallel releases as the control plane runs them: release states kept
/// in the store (so promote, abort and retry survive a restart), the router's per-revision
/// metrics and parallel-run reports pulled for the gates, and the intents an operator gives.
/// </summary>
public sealed partial class ControlPlane
{
    public Task<ReleaseState> PromoteReleaseAsync(string service, bool full, string actor) =>
        SteerAsync(service, actor, $"rollout promote{(full ? " --full" : "")}", () => _releases.Promote(service, full, actor));

    public Task<ReleaseState> AbortReleaseAsync(string service, string actor) =>
        SteerAsync(service, actor, "rollout abort", () =>
            _releases.Abort(service, actor, Volatile.Read(ref _composed).FirstOrDefault(s => s.Name == service)?.Instances ?? 0, _driver.Observe()));

    public Task<ReleaseState> RetryReleaseAsync(string service, string actor) =>
        SteerAsync(service, actor, "rollout retry", () => _releases.Retry(service, actor));

    /// <summary>A service's parallel run as the router has compared it so far (404 when it never had one).</summary>
    public async Task<Router.Mirror.ParallelReport> ParallelReportAsync(string service)
    {
        Known(service);
        return await _router.ParallelReportAsync(service)
            ?? throw new ControlPlaneException($"service '{service}' has had no parallel run since the router started (rollout.strategy: parallel)", ControlPlaneError.NotFound);
    }

    /// <summary>The router's request metrics per service and revision, in Prometheus' text format.</summary>
    public Task<string> PrometheusAsync() => _router.PrometheusAsync();

    private async Task<ReleaseState> SteerAsync(string service, string actor, string action, Func<ReleaseState> steer)
    {
        await _changing.WaitAsync();
        try
        {
            Known(service);
            ReleaseState state;
            try
            {
                state = steer();
            }
            catch (InvalidOperationException e)
            {
                throw new ControlPlaneException($"{service}: {e.Message}", ControlPlaneError.Conflict);
            }
            _store.AddAudit(actor, action, $"{service}: release of revision {state.Target} now {state.Phase.ToString().ToLowerInvariant()}, {state.Weight}% of traffic", _time.GetUtcNow());
            Publish();
            return state;
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>A service's release in progress, paused or aborted, as a condition (for status and diff), or null when none is.</summary>
    private Condition? ReleaseCondition(string service) =>
        _releases.Get(service) is { IsActive: true } release ? release.ToCondition() : null;

    private void LoadReleases(DesiredState state) =>
        _releases.Load(state.Services.Select(s => _store.Meta(ReleaseKey(s.Name))).OfType<string>()
            .Select(json => JsonSerializer.Deserialize<ReleaseState>(json, StoreJournal.Json)).OfType<ReleaseState>());

    private void SaveRelease(ReleaseState state) => _store.SetMeta(ReleaseKey(state.Service), JsonSerializer.Serialize(state, StoreJournal.Json));

    private static string ReleaseKey(string service) => $"release/{service}";

    /// <summary>The desired state of a service when it ran <paramref name="revision"/>, from the newest revision of the system that had it.</summary>
    private DesiredService? FindServiceRevision(string service, string revision) =>
        _store.Revisions(200).Select(r => DesiredState.FromJson(r.DesiredJson).Find(service)).FirstOrDefault(s => s?.Revision == revision);

    /// <summary>One look at the releases: the router's last interval of metrics in, steps and verdicts out; publishes what changed.</summary>
    private async Task WatchReleasesAsync(IReadOnlyList<Runtime.InstanceStatus> observed, CancellationToken cancellationToken)
    {
        var composed = Volatile.Read(ref _composed);
        if (!composed.Any(s => s.RolloutOrDefault.IsProgressive))
        {
            return;
        }
        var intervals = await _router.TakeMetricsAsync();
        if (await _releases.TickAsync(composed, observed, intervals, _router.ParallelReportAsync, cancellationToken))
        {
            await _changing.WaitAsync(cancellationToken);
            try
            {
                Publish();
            }
            finally
            {
                _changing.Release();
            }
        }
    }
}
