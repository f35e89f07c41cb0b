using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;

namespace Flotilla.Router.Mirror;

/// <summary>A request as it is replayed to the candidate and a second stable instance.</summary>
internal sealed record RequestCopy(string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string[]>> Headers, byte[]? Body);

/// <summary>One comparison to make, queued after the client already has stable's answer.</summary>
internal sealed record MirrorJob(MirrorPolicy Policy, MirrorReport Report, RequestCopy Request, Capture Stable, DestinationState Candidate, DestinationState SecondStable);

/// <summary>
/// Makes the comparisons of every parallel run, off the request path: a bounded queue (a full
/// queue drops the copy and counts it, it never slows a client), two workers that replay each
/// request to the candidate and (for safe methods) to a second stable instance, and compares.
/// Fields that differ between the two stable answers are noise and are not held against the candidate.
/// </summary>
internal sealed class MirrorWorker : IAsyncDisposable
{
    public const string MirrorHeader = "X-Flotilla-Mirror";
    private static readonly HashSet<string> NotCopied = new(StringComparer.OrdinalIgnoreCase) { "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade" };
    private const int Workers = 2;

    // FullMode.Wait makes TryWrite say false when full (DropWrite would drop silently and say true).
    private readonly Channel<MirrorJob> _queue = Channel.CreateBounded<MirrorJob>(new BoundedChannelOptions(512) { FullMode = BoundedChannelFullMode.Wait });
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;

    public MirrorWorker() => _workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(RunAsync)).ToArray();

    /// <summary>Queues a comparison; false (and counted as skipped) when the queue is full.</summary>
    public bool TryQueue(MirrorJob job)
    {
        if (_queue.Writer.TryWrite(job))
        {
            return true;
        }
        job.Report.Skipped();
        return false;
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(_stop.Token))
            {
                try
                {
                    await CompareAsync(job);
                }
                catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
                {
                    job.Report.CandidateFailed($"comparison failed: {e.GetType().Name}: {e.Message}", 0);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The router is stopping: copies still queued are dropped.
        }
    }

    private async Task CompareAsync(MirrorJob job)
    {
        // A write is never sent to stable twice: its noise comes only from what safe requests found.
        var safe = Model.ParallelSpec.SafeMethods.Contains(job.Request.Method, StringComparer.OrdinalIgnoreCase);
        (Capture? Capture, string? Error, long Micros) second = safe ? await SendAsync(job.SecondStable, job.Request, job.Policy.MaxBodyBytes) : (null, null, 0);
        var candidate = await SendAsync(job.Candidate, job.Request, job.Policy.MaxBodyBytes);
        var secondMicros = second.Micros;
        if (candidate.Capture is null)
        {
            job.Report.CandidateFailed(candidate.Error!, secondMicros);
            return;
        }
        var noise = second.Capture is null ? [] : ResponseComparer.Compare(job.Stable, second.Capture, job.Policy).Select(d => ResponseComparer.Normalize(d.Path)).ToHashSet(StringComparer.Ordinal);
        var real = ResponseComparer.Compare(job.Stable, candidate.Capture, job.Policy)
            .Where(d => !noise.Contains(ResponseComparer.Normalize(d.Path)) && !job.Report.IsNoise(ResponseComparer.Normalize(d.Path)))
            .ToList();
        if (candidate.Capture.Status >= 500 && job.Stable.Status < 500)
        {
            job.Report.CandidateFailed($"answered {candidate.Capture.Status} where stable answered {job.Stable.Status}", secondMicros);
            return;
        }
        job.Report.Record(real, noise, job.Stable.Hashed || candidate.Capture.Hashed, secondMicros, candidate.Micros);
    }

    private async Task<(Capture? Capture, string? Error, long Micros)> SendAsync(DestinationState destination, RequestCopy copy, int limit)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(new HttpMethod(copy.Method), destination.Prefix + copy.PathAndQuery.TrimStart('/'));
        if (copy.Body is { } body)
        {
            request.Content = new ByteArrayContent(body);
        }
        foreach (var (name, values) in copy.Headers)
        {
            if (!NotCopied.Contains(name) && !request.Headers.TryAddWithoutValidation(name, values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values);
            }
        }
        request.Headers.TryAddWithoutValidation(MirrorHeader, "1");
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            var headers = response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(", ", h.Value), StringComparer.Ordinal);
            var (bytes, hash, length) = await ReadAsync(await response.Content.ReadAsStreamAsync(), limit);
            return (new Capture((int)response.StatusCode, headers, bytes, hash, length), null, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !_stop.IsCancellationRequested)
        {
            var why = e is TaskCanceledException ? "no answer within 10 s" : e.Message;
            return (null, $"{destination.InstanceId}: {why}", (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
    }

    private static async Task<(byte[]? Body, string Hash, long Length)> ReadAsync(Stream stream, int limit)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var copy = new MemoryStream();
        var buffer = new byte[16 * 1024];
        long length = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            length += read;
            hash.AppendData(buffer, 0, read);
            if (copy.Length + read <= limit)
            {
                copy.Write(buffer, 0, read);
            }
        }
        return (length <= limit ? copy.ToArray() : null, Convert.ToHexStringLower(hash.GetHashAndReset()), length);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _client.Dispose();
        _stop.Dispose();
    }
}
