using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Store;

namespace Flotilla.Controllers.Queues;

/// <summary>
/// Delivers the messages of functions' queues, at least once. Each look leases due messages (as
/// many as the function may take at once: <c>scale.max × scale.concurrency</c>, less those in
/// delivery) and POSTs each to the function's endpoint through the router, so demand scaling and
/// cold starts work for queues as for HTTP. A 2xx answer removes the message; anything else (a
/// 5xx, the 504 of a timeout, the 503 of a function that could not start, no answer) makes it due
/// again after a back-off, and dead after its last attempt. Leases are in the store, so a control
/// plane killed mid-delivery loses nothing: the message is due again when its lease ends.
/// </summary>
/// <param name="functions">The functions declared now.</param>
/// <param name="endpoint">A function's endpoint port on the router (null: none open).</param>
public sealed class QueueDelivery(StateStore store, Func<IReadOnlyList<DesiredService>> functions, Func<string, int?> endpoint, EventLog events, TimeProvider? time = null) : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private const int MaxLeasePerLook = 64;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, Task> _deliveries = new();
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _cuts = new();
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) }) { Timeout = Timeout.InfiniteTimeSpan };
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    /// <summary>The queues some declared function is triggered by (its schedule's and inbox's too), with that function's name.</summary>
    public IReadOnlyDictionary<string, string> Queues() => functions()
        .Where(f => f.Function?.Trigger.DeliveryQueue(f.Name) is not null)
        .GroupBy(f => f.Function!.Trigger.DeliveryQueue(f.Name)!)
        .ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Stores a message (durable when this returns) and wakes delivery; throws <see cref="UnknownQueueException"/> for a queue no function reads.</summary>
    /// <param name="key">Messages with the same key are delivered one at a time, in the order pushed (as SQS FIFO's message group).</param>
    public long Push(string queue, byte[] body, string? contentType, string? key = null)
    {
        if (!Queues().ContainsKey(queue))
        {
            var known = Queues().Keys.Order(StringComparer.Ordinal).ToList();
            throw new UnknownQueueException(queue, known);
        }
        var id = store.Enqueue(queue, body, contentType, _time.GetUtcNow(), key: key);
        Wake();
        return id;
    }

    /// <summary>
    /// Cuts the deliveries under way of these messages (a schedule's run replaced by a newer one): the request to the
    /// function is aborted (the function sees its request aborted). Their store rows were set aside before, so the cut
    /// delivery settles nothing.
    /// </summary>
    public void Stop(IReadOnlyList<long> messages)
    {
        foreach (var id in messages)
        {
            try
            {
                if (_cuts.TryGetValue(id, out var cut))
                {
                    cut.Cancel();
                }
            }
            catch (ObjectDisposedException)
            {
                // That delivery ended meanwhile.
            }
        }
    }

    public void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake).Task;
            try
            {
                Look(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                events.Record("queues", $"delivery look failed: {e.GetType().Name}: {e.Message}", warning: true);
            }
            try
            {
                await wake.WaitAsync(Tick, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Leases what each queue's function may take now and starts delivering it.</summary>
    private void Look(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        foreach (var function in functions().Where(f => f.Function?.Trigger.DeliveryQueue(f.Name) is not null))
        {
            var spec = function.Function!;
            var queue = spec.Trigger.DeliveryQueue(function.Name)!;
            if (endpoint(function.Name) is not { } port)
            {
                continue;
            }
            var free = Math.Min(MaxLeasePerLook, spec.Scale.Max * spec.Scale.Concurrency - _inFlight.GetValueOrDefault(function.Name));
            var lease = QueueRetries.Lease(spec);
            foreach (var message in store.Lease(queue, free, now, now + lease))
            {
                _inFlight.AddOrUpdate(function.Name, 1, (_, n) => n + 1);
                _deliveries[message.Id] = DeliverAsync(function, port, message, lease - TimeSpan.FromSeconds(5), cancellationToken);
            }
        }
    }

    private async Task DeliverAsync(DesiredService function, int port, QueueMessage message, TimeSpan limit, CancellationToken cancellationToken)
    {
        var spec = function.Function!;
        string? failure;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/") { Content = new ByteArrayContent(message.Body) };
            request.Content.Headers.ContentType = message.ContentType is { } type && MediaTypeHeaderValue.TryParse(type, out var parsed) ? parsed : new MediaTypeHeaderValue("application/octet-stream");
            request.Headers.Add("X-Flotilla-Queue", message.Queue);
            request.Headers.Add("X-Flotilla-Message-Id", message.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("X-Flotilla-Attempt", message.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (message.Key is { } key)
            {
                request.Headers.Add("X-Flotilla-Key", Uri.EscapeDataString(key));
            }
            if (message.Source is { } file)
            {
                request.Headers.Add("X-Flotilla-File", Uri.EscapeDataString(Inboxes.InboxPaths.OriginalName(file)));
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _cuts[message.Id] = timeout;
            timeout.CancelAfter(limit);
            using var response = await _http.SendAsync(request, timeout.Token);
            failure = response.IsSuccessStatusCode ? null : $"answered {(int)response.StatusCode}: {Truncate(await response.Content.ReadAsStringAsync(timeout.Token))}";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the lease runs out and the message is delivered again by the next control plane.
            return;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            failure = e is OperationCanceledException ? $"no answer within {limit.TotalSeconds:0} s" : $"not delivered: {e.Message}";
        }
        finally
        {
            _inFlight.AddOrUpdate(function.Name, 0, (_, n) => n - 1);
            _deliveries.TryRemove(message.Id, out _);
            _cuts.TryRemove(message.Id, out _);
        }
        Settle(function, message, failure);
    }

    private void Settle(DesiredService function, QueueMessage message, string? failure)
    {
        if (failure is null)
        {
            store.Acknowledge(message.Id, message.Token!);
            return;
        }
        var retryAt = QueueRetries.Next(function.Function!.Retry, message.Attempts, _time.GetUtcNow());
        if (store.Fail(message.Id, message.Token!, $"attempt {message.Attempts}: {failure}", retryAt) && retryAt is null)
        {
            events.Record(function.Name, $"queue {message.Queue}: message {message.Id} is dead after {message.Attempts} attempts ({failure}); 'flotilla queue retry {message.Queue} --id {message.Id}' delivers it again", warning: true);
        }
        Wake();
    }

    private static string Truncate(string text) => text.Length <= 200 ? text.Trim() : text[..200].Trim() + "…";

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        await _loop;
        await Task.WhenAll(_deliveries.Values);
        _http.Dispose();
    }
}
