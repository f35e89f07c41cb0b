using Flotilla.Databases.Postgres;
using Flotilla.Model;
using Npgsql;

namespace Flotilla.Databases.Engines;

/// <summary>
/// Keeps the PostgreSQL engines Flotilla runs running: a level-triggered loop that observes every
/// member (postmaster alive, accepting connections), asks <see cref="EnginePlanner"/> what to do,
/// and does it; woken by a change of desired engines, else every second. Members run detached,
/// like instances: a control plane that stops leaves them running and the next one adopts them;
/// only <see cref="StopAllAsync"/> (shutdown --stop-all) stops them, and it never deletes their data.
/// A primary that stays down is replaced by its most up-to-date replica (see <see cref="EnginePlanner"/>
/// and <see cref="Failover"/>).
/// </summary>
public sealed class EngineController : IAsyncDisposable
{
    private readonly EngineLayout _layout;
    private readonly IDatabaseSecrets _secrets;
    private readonly Action<string, string, bool> _record;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<EngineMember, (int Failures, DateTimeOffset? Last, int? Pid, DateTimeOffset? DownSince)> _history = [];
    private IReadOnlyList<EngineSpec> _desired = [];
    private IReadOnlyDictionary<EngineMember, MemberObservation> _observed = new Dictionary<EngineMember, MemberObservation>();
    private Task _loop = Task.CompletedTask;
    private readonly ReplicationStatus _replication;

    /// <param name="record">An event: subject, message, whether it is a warning.</param>
    public EngineController(string directory, IDatabaseSecrets secrets, Action<string, string, bool> record, TimeProvider? time = null)
    {
        _layout = new EngineLayout(directory);
        _secrets = secrets;
        _record = record;
        _time = time ?? TimeProvider.System;
        _replication = new ReplicationStatus(record);
    }

    /// <summary>Engines whose primary accepts connections now.</summary>
    public IReadOnlySet<string> Running => Volatile.Read(ref _observed).Where(o => o.Key.IsPrimary && o.Value.Ready).Select(o => o.Key.Engine).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every member with what was last seen of it.</summary>
    public IReadOnlyDictionary<EngineMember, MemberObservation> Observed => Volatile.Read(ref _observed);

    /// <summary>Per replica: state and lag as its primary reports them.</summary>
    public IReadOnlyList<ReplicaLag> Lags => _replication.Lags;

    /// <summary>The ports of an engine's replicas as it is desired now (none for an engine this controller does not run).</summary>
    public IReadOnlyList<int> ReplicaPorts(string engine) => Volatile.Read(ref _desired).FirstOrDefault(e => e.Name == engine) is { Replicas: > 0 } spec
        ? [.. _layout.Members(engine, spec.Replicas).Where(m => !m.IsPrimary).Select(m => m.Port)]
        : [];

    /// <summary>
    /// The ports of every member of an engine with replicas, in a fixed order (the primary slot, then
    /// replica-1...), whichever is the primary now: the hosts of a multi-host connection string that
    /// stays valid across a failover. Empty for an engine without replicas or not run by this controller.
    /// </summary>
    public IReadOnlyList<int> MemberPorts(string engine) => Volatile.Read(ref _desired).FirstOrDefault(e => e.Name == engine) is { Replicas: > 0 } spec
        ? [.. _layout.Members(engine, spec.Replicas).Select(m => m.Port)]
        : [];

    /// <summary>The port of the engine's primary now (null: not run by this controller).</summary>
    public int? PrimaryPort(string engine) => Volatile.Read(ref _desired).FirstOrDefault(e => e.Name == engine) is { } spec
        ? _layout.Members(engine, spec.Replicas).First(m => m.IsPrimary).Port
        : null;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>The engines to keep running (those of the applied revision); an engine left out keeps its data and is stopped.</summary>
    public void SetDesired(IReadOnlyList<EngineSpec> engines)
    {
        Volatile.Write(ref _desired, [.. engines.Where(e => !e.IsExternal)]);
        _wake.Release();
    }

    /// <summary>
    /// For an apply: adds these engines to those kept running and waits until each primary accepts
    /// connections (created with initdb the first time). Throws <see cref="DatabaseException"/> with the server's log when it does not.
    /// </summary>
    public async Task EnsureAsync(IReadOnlyList<EngineSpec> engines, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var wanted = engines.Where(e => !e.IsExternal).ToList();
        if (wanted.Count == 0)
        {
            return;
        }
        var current = Volatile.Read(ref _desired);
        SetDesired([.. current.Where(c => wanted.All(w => w.Name != c.Name)), .. wanted]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!wanted.All(w => Running.Contains(w.Name)))
        {
            if (clock.Elapsed > timeout)
            {
                var failing = Observed.Where(o => o.Key.IsPrimary && !o.Value.Ready && wanted.Any(w => w.Name == o.Key.Engine)).Select(o => o.Key).FirstOrDefault();
                throw new DatabaseException(failing is null
                    ? $"engines {string.Join(", ", wanted.Select(w => w.Name))} did not start within {timeout.TotalSeconds:0} s"
                    : $"{failing} does not accept connections after {timeout.TotalSeconds:0} s; its log ({failing.LogFile}) ends: {MemberProcess.LogTail(failing)}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await PassAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _record("engines", $"engine pass failed, retried in a second: {e.Message}", true);
            }
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        var engines = Volatile.Read(ref _desired);
        var members = engines.SelectMany(e => _layout.Members(e.Name, e.Replicas)).ToList();
        foreach (var primary in members.Where(m => m.IsPrimary))
        {
            // After a failover (or a crash in the middle of one) the admin secret is aimed at the new primary.
            if (Failover.AdminFor(AdminFor(primary.Engine), primary) is { } moved)
            {
                _secrets.Set(DatabaseSecretNames.EngineAdmin(primary.Engine), moved);
            }
        }
        var observed = await ObserveAsync(members, cancellationToken);
        Volatile.Write(ref _observed, observed);
        var failoverAfter = engines.ToDictionary(e => e.Name, e => e.Failover, StringComparer.Ordinal);
        foreach (var action in EnginePlanner.Plan(members, observed, _time.GetUtcNow(), failoverAfter))
        {
            await ActAsync(action, members, cancellationToken);
        }
        foreach (var engine in engines.Where(e => e.Replicas > 0))
        {
            var primary = members.First(m => m.Engine == engine.Name && m.IsPrimary);
            if (observed[primary].Ready && AdminFor(engine.Name) is { } admin)
            {
                await _replication.UpdateAsync(engine.Name, primary, admin, cancellationToken);
            }
        }
    }

    private async Task<IReadOnlyDictionary<EngineMember, MemberObservation>> ObserveAsync(IReadOnlyList<EngineMember> members, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var observed = new Dictionary<EngineMember, MemberObservation>();
        foreach (var member in members)
        {
            var pid = MemberProcess.Pid(member);
            var (failures, last, seenPid, downSince) = _history.GetValueOrDefault(member);
            if (pid is null && seenPid is not null)
            {
                failures++;
                last = now;
                _record($"engine-{member.Engine}", $"{member} stopped (pid {seenPid}); {(failures == 1 ? "restarting it now" : $"restarting it in {EnginePlanner.Backoff(failures).TotalSeconds:0} s")}", true);
            }
            var (ready, inRecovery, lsn) = pid is not null && AdminFor(member.Engine) is { } admin
                ? await MemberProcess.ProbeAsync(member, admin, cancellationToken)
                : (false, null, null);
            downSince = ready ? null : downSince ?? now;
            _history[member] = (ready && failures > 0 && last is { } l && now - l > TimeSpan.FromSeconds(30) ? 0 : failures, last, pid, downSince);
            var initialized = MemberProcess.Initialized(member);
            observed[member] = new MemberObservation(initialized, pid, ready, _history[member].Failures, last,
                initialized && MemberProcess.Standby(member), inRecovery, lsn, downSince, MemberProcess.UpstreamPort(member));
        }
        return observed;
    }

    private string? AdminFor(string engine) => _secrets.Get(DatabaseSecretNames.EngineAdmin(engine));

    private async Task ActAsync(EngineAction action, IReadOnlyList<EngineMember> members, CancellationToken cancellationToken)
    {
        var member = action.Member;
        var primary = members.First(m => m.Engine == member.Engine && m.IsPrimary);
        try
        {
            switch (action.Kind)
            {
                case EngineActionKind.Promote:
                    await PromoteAsync(action, primary, cancellationToken);
                    return;
                case EngineActionKind.Fence:
                    _record($"engine-{member.Engine}", $"{member}: {action.Reason}; fenced (killed), it will be copied again from the primary", true);
                    await MemberProcess.StopAsync(member, TimeSpan.Zero);
                    return;
                case EngineActionKind.Follow:
                    await Failover.FollowAsync(member, primary, AdminFor(member.Engine)!, cancellationToken);
                    _record($"engine-{member.Engine}", $"{member}: {action.Reason}; now streaming from the primary", false);
                    return;
                case EngineActionKind.Rebuild:
                    _record($"engine-{member.Engine}", $"{member}: {action.Reason}; rebuilding it from the primary", true);
                    // Never the directory of a server that still runs (a fence whose kill has not taken yet): the next look tries again.
                    if (MemberProcess.Pid(member) is { } running)
                    {
                        throw new DatabaseException($"its server (pid {running}) still runs, so its directory is kept");
                    }
                    // A fenced member was killed: its shared memory outlives a deleted directory unless freed first.
                    if (await Postgres.PostgresLeftovers.ReleaseAsync(member.DataDirectory, cancellationToken) is { } kept)
                    {
                        _record($"engine-{member.Engine}", $"{member}: the killed server's shared memory could not be freed ({kept}); see ipcs -m and /dev/shm", true);
                    }
                    Directory.Delete(member.DataDirectory, recursive: true);
                    _history[member] = default;
                    await InitializeAsync(member, primary, cancellationToken);
                    break;
                case EngineActionKind.Initialize:
                    await InitializeAsync(member, primary, cancellationToken);
                    break;
            }
            var pid = MemberProcess.Start(member, WakeOnExit);
            var history = _history.GetValueOrDefault(member);
            _history[member] = (history.Failures, history.Last, pid, history.DownSince);
            _record($"engine-{member.Engine}", $"{member} started (pid {pid}): {action.Reason}", false);
        }
        catch (Exception e) when (e is DatabaseException or IOException or InvalidOperationException or NpgsqlException or TimeoutException)
        {
            var (failures, _, _, downSince) = _history.GetValueOrDefault(member);
            _history[member] = (failures + 1, _time.GetUtcNow(), null, downSince);
            _record($"engine-{member.Engine}", $"{member} could not be {action.Kind switch { EngineActionKind.Start => "started", EngineActionKind.Promote => "promoted", EngineActionKind.Fence => "fenced", EngineActionKind.Follow => "pointed at the primary", _ => "created" }}: {e.Message}", true);
        }
    }

    private void WakeOnExit()
    {
        try
        {
            _wake.Release();
        }
        catch (ObjectDisposedException)
        {
            // The controller was disposed; the server outlives it, as designed.
        }
    }

    private async Task PromoteAsync(EngineAction action, EngineMember primary, CancellationToken cancellationToken)
    {
        var candidate = action.Member;
        var admin = AdminFor(candidate.Engine) ?? throw new DatabaseException($"{candidate}: the engine's admin secret is missing");
        var old = primary == candidate ? null : primary;
        var lsn = Volatile.Read(ref _observed).GetValueOrDefault(candidate)?.ReceivedLsn;
        if (old is not null)
        {
            _record($"engine-{candidate.Engine}", $"failover: {action.Reason}; promoting {candidate.Role} (port {candidate.Port}, WAL received up to {(lsn is { } l ? $"{l >> 32:X}/{l & 0xFFFFFFFF:X}" : "?")}), the most up-to-date replica", true);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Failover.PromoteAsync(_layout, candidate, old, admin, cancellationToken);
        _secrets.Set(DatabaseSecretNames.EngineAdmin(candidate.Engine), Failover.AdminFor(admin, candidate) ?? admin);
        _record($"engine-{candidate.Engine}", $"failover: {candidate.Role} (port {candidate.Port}) is the primary (promoted in {clock.ElapsedMilliseconds} ms){(old is null ? "" : $"; the old primary ({old.Role}, port {old.Port}) is fenced and will be copied again from it as a replica")}", false);
        // Every member's identity (primary or not) changed: what was seen of them before says nothing now.
        foreach (var stale in _history.Keys.Where(k => k.Engine == candidate.Engine).ToList())
        {
            _history.Remove(stale);
        }
        _wake.Release();
    }

    private async Task InitializeAsync(EngineMember member, EngineMember primary, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(member.Directory);
        if (Directory.Exists(member.DataDirectory))
        {
            // What an interrupted initdb or base backup left: never a cluster (no PG_VERSION), so nothing is lost.
            Directory.Delete(member.DataDirectory, recursive: true);
        }
        if (member.IsPrimary)
        {
            var password = PostgresDatabases.NewPassword();
            await PostgresServer.InitializeAsync(member.DataDirectory, password, cancellationToken);
            _secrets.Set(DatabaseSecretNames.EngineAdmin(member.Engine), PostgresServer.AdminConnectionString(member.Port, password));
            _record($"engine-{member.Engine}", $"{member}: cluster created in {member.DataDirectory}", false);
        }
        else
        {
            var admin = AdminFor(member.Engine) ?? throw new DatabaseException($"{member}: the primary's admin secret is missing");
            await PostgresServer.BaseBackupAsync(admin, primary.Port, member.DataDirectory, member.Role.Replace('-', '_'), cancellationToken);
            _record($"engine-{member.Engine}", $"{member}: copied from the primary (pg_basebackup), streaming from port {primary.Port}", false);
        }
    }

    /// <summary>Stops every member (replicas first) and keeps their data: shutdown --stop-all.</summary>
    public async Task StopAllAsync()
    {
        await StopLoopAsync();
        var members = Volatile.Read(ref _desired).SelectMany(e => _layout.Members(e.Name, e.Replicas)).OrderBy(m => m.IsPrimary).ToList();
        foreach (var member in members)
        {
            await MemberProcess.StopAsync(member, TimeSpan.FromSeconds(30));
        }
    }

    private async Task StopLoopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        await _loop;
    }

    /// <summary>Stops supervising; the servers keep running for the next control plane to adopt.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        _stop.Dispose();
        _wake.Dispose();
    }
}
