using System.Text.Json;
using Flotilla.Conditions;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Rollouts;
using Flotilla.Runtime;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// Rollouts of one service from revision to revision: progress, pause and resume, undo to an
/// earlier revision, and the automatic rollback of a rollout that makes no progress within its
/// deadline. An undo or a rollback is a new revision of the system (audited, in history) whose
/// only change is that service's desired state taken back from an earlier revision: nothing is
/// rebuilt, the earlier artifact and config run again.
/// </summary>
public sealed partial class ControlPlane
{
    public Task PauseRolloutAsync(string service, string actor) => SetPausedAsync(service, true, actor);

    public Task ResumeRolloutAsync(string service, string actor) => SetPausedAsync(service, false, actor);

    private Task SetPausedAsync(string service, bool paused, string actor) =>
        ChangeAsync(() =>
        {
            Known(service);
            var own = _store.ServiceOverrides().GetValueOrDefault(service) ?? new ServiceOverride(service, null, false);
            _store.SetServiceOverride(own with { Paused = paused }, actor, paused ? "rollout pause" : "rollout resume", $"{service} rollout {(paused ? "paused" : "resumed")}", _time.GetUtcNow());
            Events.Record(service, $"rollout {(paused ? "paused" : "resumed")} by {actor}");
        });

    /// <summary>The state of a service's rollout as a user sees it (what kubectl rollout status shows).</summary>
    public RolloutStatus Rollout(string service)
    {
        var desired = Known(service);
        var status = Status().Services.Single(s => s.Name == service);
        var live = status.Instances.Where(i => i.IsLive).ToList();
        var current = live.Where(i => i.Revision == desired.Revision).ToList();
        var last = _store.Meta(RolloutKey(service)) is { } json ? JsonSerializer.Deserialize<RolloutResult>(json, StoreJournal.Json) : null;
        var old = live.Count - current.Count;
        var state = status.Stopped ? "stopped"
            : old > 0 ? (_store.ServiceOverrides().GetValueOrDefault(service)?.Paused == true ? "paused" : "progressing")
            : current.Count(i => i.InRotation) >= status.Desired ? "complete" : "progressing";
        var release = _releases.Status(service, desired.RolloutOrDefault);
        if (release is not null && release.Phase != ReleasePhase.Complete)
        {
            state = release.Degraded ? "degraded" : release.Phase.ToString().ToLowerInvariant();
            release = release with { PreviewPort = _router.Endpoints.TryGetValue(Router.RoutingTable.PreviewOf(service), out var preview) ? preview : null };
        }
        return new RolloutStatus(service, desired.Revision, status.Desired, current.Count, current.Count(i => i.InRotation), old, state,
            state is "progressing" or "paused" ? status.Problem : null, last)
        { Release = release, Conditions = ReleaseCondition(service) is { } condition ? [condition] : [] };
    }

    /// <summary>
    /// The system revisions in which this service's desired revision changed, newest first, as
    /// many as its <c>rollout.history</c> keeps (what <c>rollout history</c> and <c>undo</c> choose from).
    /// </summary>
    public IReadOnlyList<ServiceRevision> RolloutHistory(string service)
    {
        var kept = Known(service).RolloutOrDefault.History;
        var changes = new List<ServiceRevision>();
        var revisions = _store.Revisions(1000);
        for (var i = 0; i < revisions.Count && changes.Count < kept; i++)
        {
            var here = DesiredState.FromJson(revisions[i].DesiredJson).Find(service);
            var before = i + 1 < revisions.Count ? DesiredState.FromJson(revisions[i + 1].DesiredJson).Find(service) : null;
            if (here is not null && here.Revision != before?.Revision)
            {
                changes.Add(new ServiceRevision(revisions[i].Number, revisions[i].CreatedAt, revisions[i].Actor, here.Revision, revisions[i].Summary));
            }
        }
        return changes;
    }

    /// <summary>
    /// Runs an earlier revision of a service again: the one it ran in system revision
    /// <paramref name="toRevision"/>, or by default the one before the current. Returns the new system revision.
    /// </summary>
    public async Task<RevisionRecord> UndoRolloutAsync(string service, long? toRevision, string actor)
    {
        var current = Known(service);
        DesiredService target;
        if (toRevision is { } number)
        {
            var record = _store.Revision(number) ?? throw new ControlPlaneException($"no revision {number}; the latest is {_store.LatestRevisionNumber}", ControlPlaneError.NotFound);
            target = DesiredState.FromJson(record.DesiredJson).Find(service)
                ?? throw new ControlPlaneException($"service '{service}' did not exist in revision {number}", ControlPlaneError.NotFound);
            var kept = RolloutHistory(service);
            if (kept.Count > 0 && number < kept[^1].Number && kept.All(r => r.Revision != target.Revision))
            {
                throw new ControlPlaneException($"revision {number} is older than the {kept.Count} revisions of '{service}' kept for undo (rollout.history: {current.RolloutOrDefault.History})", ControlPlaneError.Conflict);
            }
        }
        else
        {
            var earlier = RolloutHistory(service).FirstOrDefault(r => r.Revision != current.Revision)
                ?? throw new ControlPlaneException($"service '{service}' has no earlier revision to go back to", ControlPlaneError.Conflict);
            target = DesiredState.FromJson(_store.Revision(earlier.Number)!.DesiredJson).Find(service)!;
            toRevision = earlier.Number;
        }
        if (target.Revision == current.Revision)
        {
            throw new ControlPlaneException($"service '{service}' already runs revision {current.Revision} (as in system revision {toRevision})", ControlPlaneError.Conflict);
        }
        return await ReplaceServiceAsync(service, target, actor, $"undo {service} {Short(current.Revision)}→{Short(target.Revision)} (as in revision {toRevision})");
    }

    /// <summary>A new revision that differs from the latest only in <paramref name="service"/>; scale overrides stay.</summary>
    private Task<RevisionRecord> ReplaceServiceAsync(string service, DesiredService earlier, string actor, string summary) =>
        ReplaceServicesAsync(new Dictionary<string, DesiredService> { [service] = earlier }, actor, summary);

    /// <summary>A new revision that differs from the latest only in what the named services run (undo, promote); how many and where stay, and so do scale overrides.</summary>
    private async Task<RevisionRecord> ReplaceServicesAsync(IReadOnlyDictionary<string, DesiredService> replacements, string actor, string summary)
    {
        await _changing.WaitAsync();
        try
        {
            var state = State;
            foreach (var name in replacements.Keys.Where(n => state.Find(n) is null))
            {
                throw new ControlPlaneException($"unknown service '{name}'", ControlPlaneError.NotFound);
            }
            // What a service runs comes from the replacement; how many and where stay as declared now.
            var next = state with { Services = state.Services.Select(s => replacements.TryGetValue(s.Name, out var r) ? r with { Instances = s.Instances, Zones = s.Zones } : s).ToList() };
            RouterRefusal.ThrowIfRefused(DataPlane, next, $"{summary} is refused");
            var latest = _store.LatestRevision()!;
            // Not an apply of the spec: the operator's scale overrides stay.
            // Nor is it made from a git commit: GitOps sees it as drift.
            using var admitted = Admit(next, _store.ServiceOverrides());
            var record = _store.AddRevision(latest.Number, actor, latest.Environment, latest.SpecFile, latest.SpecYaml, null, summary, next.ToJson(), _time.GetUtcNow(), resetScale: false);
            Volatile.Write(ref _state, next);
            Publish();
            Events.Record(string.Join(", ", replacements.Keys), $"revision {record.Number} by {actor}: {summary}");
            return record;
        }
        finally
        {
            _changing.Release();
        }
    }

    private void RecordResult(string service, RolloutResult result) => _store.SetMeta(RolloutKey(service), JsonSerializer.Serialize(result, StoreJournal.Json));

    private static string RolloutKey(string service) => $"rollout/{service}";

    private static string Short(string revision) => revision[..Math.Min(7, revision.Length)];

    private long _rolloutLooks;

    private async Task RolloutLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), _time, cancellationToken);
                // One look at the instances for both watches.
                var observed = _driver.Observe();
                await WatchReleasesAsync(observed, cancellationToken);
                await _rolloutWatch.WatchAsync(observed);
                Interlocked.Increment(ref _rolloutLooks);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is ControlPlaneException or Microsoft.Data.Sqlite.SqliteException or JsonException or InvalidOperationException)
            {
                Events.Record("control-plane", $"rollout watch failed: {e.GetType().Name}: {e.Message}", warning: true);
            }
        }
    }
}

/// <summary>A service's rollout now: desired revision, counts, state (progressing, paused, complete, stopped), and the last result.</summary>
public sealed record RolloutStatus(string Service, string Revision, int Desired, int Current, int CurrentReady, int Old, string State, string? Waiting, RolloutResult? Last)
{
    /// <summary>The canary or blue-green release of the service (null with strategy rolling).</summary>
    public ReleaseStatus? Release { get; init; }

    /// <summary>The release's condition, typed (progressing, paused or degraded), while it is not complete.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];
}

/// <summary>A system revision in which a service's desired revision changed.</summary>
public sealed record ServiceRevision(long Number, DateTimeOffset At, string Actor, string Revision, string Summary);
