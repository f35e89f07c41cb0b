using k8s;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// The pods of one control plane, kept by list + watch as an informer does: a LIST gives the pods
/// and a resourceVersion, a WATCH from there brings each change. A watch that ends (the server
/// closed it, a 410 Gone, a broken connection) is followed by a new LIST at once; a watch is also
/// cut and relisted every <see cref="_relistEvery"/>, because KubernetesClient's watches can go
/// silent without ending (after 30 to 60 minutes) and a silent watch would freeze what Flotilla sees.
/// A LIST that fails is retried with back-off (0.5 s doubling to 30 s); the pods last seen stay as they were.
/// A WATCH that breaks before it brought anything (refused with 403 because the role may list but not
/// watch pods, or failing otherwise) is retried with the same back-off, relisting each time, so a
/// role without <c>watch</c> is served from lists at most every 30 s instead of relisting twice a second;
/// <paramref name="watchRefused"/> hears once that the watch is refused (true) and once that it works again (false).
/// </summary>
internal sealed class PodWatch(Func<IKubernetes> client, string ns, string selector, TimeSpan relistEvery, Action changed, Action<Exception?> health, Action<bool> watchRefused) : IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _relistEvery = relistEvery;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private Dictionary<string, ObservedPod> _pods = new(StringComparer.Ordinal);
    private Task? _loop;
    private int _lists;
    private volatile bool _refused;
    private CancellationTokenSource? _pause;
    private bool _refreshed;

    /// <summary>Whether one LIST has succeeded: before it, no pod is known and nothing may be decided from them.</summary>
    public bool Synced { get; private set; }

    /// <summary>How many LISTs have succeeded (the first, and every relist after a watch ended).</summary>
    public int Lists => Volatile.Read(ref _lists);

    public IReadOnlyCollection<ObservedPod> Pods
    {
        get
        {
            lock (_gate)
            {
                return _pods.Values.ToList();
            }
        }
    }

    public void Start()
    {
        lock (_gate)
        {
            _loop ??= Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = FirstBackoff;
        var watchBackoff = FirstBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var api = client();
                var list = await api.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: cancellationToken);
                lock (_gate)
                {
                    _pods = list.Items.Select(ObservedPod.From).OfType<ObservedPod>().ToDictionary(p => p.Name, StringComparer.Ordinal);
                }
                Synced = true;
                Interlocked.Increment(ref _lists);
                health(null);
                changed();
                backoff = FirstBackoff;
                var (ended, delivered) = await WatchAsync(api, list.Metadata?.ResourceVersion, cancellationToken);
                if (ended is null || delivered)
                {
                    watchBackoff = FirstBackoff;
                    if (ended is null && _refused)
                    {
                        _refused = false;
                        watchRefused(false);
                    }
                }
                if (ended is ErrorEvent && delivered)
                {
                    // 410 Gone after a while (the resourceVersion grew too old): a relist at once starts over.
                    continue;
                }
                if (ended is not null)
                {
                    if (Forbidden(ended))
                    {
                        // The server answers; the role lacks 'watch'. Not "unreachable": said once, served from lists.
                        if (!_refused)
                        {
                            _refused = true;
                            watchRefused(true);
                        }
                    }
                    else if (ended is not ErrorEvent)
                    {
                        // The watch broke (not merely ended): the server may be going away.
                        health(ended);
                    }
                    // Relist after a pause that doubles while watches keep breaking before they bring anything
                    // (cut short, and started over, by Refresh: Flotilla has just changed something).
                    watchBackoff = await PauseAsync(watchBackoff, cancellationToken) ? FirstBackoff : TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, watchBackoff.Ticks * 2));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                health(e);
                try
                {
                    await Task.Delay(backoff, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    /// <summary>
    /// Flotilla has just changed something (marked a pod, scaled a ReplicaSet): while the watch is refused, the
    /// pause before the next list is cut short and the back-off starts over, so the change is seen in
    /// seconds rather than after up to 30 s. With a watch that works it does nothing (the watch brings it).
    /// </summary>
    public void Refresh()
    {
        lock (_gate)
        {
            if (_refused)
            {
                // Between pauses (a list under way), the next pause is cut short instead: no refresh is lost.
                _refreshed = true;
                _pause?.Cancel();
            }
        }
    }

    /// <summary>Waits; true when <see cref="Refresh"/> cut the wait short.</summary>
    private async Task<bool> PauseAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        using var pause = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lock (_gate)
        {
            if (_refreshed)
            {
                _refreshed = false;
                return true;
            }
            _pause = pause;
        }
        try
        {
            await Task.Delay(delay, pause.Token);
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return true;
        }
        finally
        {
            lock (_gate)
            {
                _pause = null;
                _refreshed = false;
            }
        }
    }

    /// <summary>A 403 on the watch: this user may not watch pods here.</summary>
    private static bool Forbidden(Exception e) =>
        e is k8s.Autorest.HttpOperationException { Response.StatusCode: System.Net.HttpStatusCode.Forbidden }
        || e.InnerException is { } inner && Forbidden(inner);

    /// <summary>Follows changes until the watch ends; returns the error that broke it (null when it ended or was cut for a relist), and whether it brought any event.</summary>
    private async Task<(Exception? Error, bool Delivered)> WatchAsync(IKubernetes api, string? resourceVersion, CancellationToken cancellationToken)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cut.CancelAfter(_relistEvery);
        Exception? broken = null;
        var delivered = false;
        try
        {
            var events = api.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: resourceVersion,
                timeoutSeconds: (int)Math.Max(1, _relistEvery.TotalSeconds), onError: e => broken ??= e, cancellationToken: cut.Token);
            await foreach (var (type, pod) in events)
            {
                if (type == WatchEventType.Error)
                {
                    // 410 Gone (the resourceVersion is too old) or another refusal: a relist starts over (after a pause if it brought nothing).
                    return (new ErrorEvent(), delivered);
                }
                delivered = true;
                if (_refused)
                {
                    _refused = false;
                    watchRefused(false);
                }
                if (type == WatchEventType.Bookmark || ObservedPod.From(pod) is not { } observed)
                {
                    continue;
                }
                lock (_gate)
                {
                    if (type == WatchEventType.Deleted)
                    {
                        _pods.Remove(observed.Name);
                    }
                    else
                    {
                        _pods[observed.Name] = observed;
                    }
                }
                changed();
            }
        }
        catch (OperationCanceledException) when (cut.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return (null, delivered);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (e, delivered);
        }
        return (cut.IsCancellationRequested ? null : broken is IOException or HttpRequestException || broken is not null && Forbidden(broken) ? broken : null, delivered);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is { } loop)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stopping.Dispose();
    }

    /// <summary>The watch ended with an ERROR event (a Status in the stream, e.g. 410 Gone).</summary>
    private sealed class ErrorEvent() : Exception("the watch ended with an error event");
}
