using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Flotilla.Router.Supervisor;

/// <summary>
/// A router worker's line to its supervisor: requests answered one at a time, and a second
/// connection kept open whose end says the supervisor is gone (the worker then stops, so no
/// orphan keeps ports that a new supervisor must bind).
/// </summary>
internal sealed class SupervisorChannel : IAsyncDisposable
{
    private readonly Socket _requests;
    private readonly Socket _lifeline;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _lost = new();
    private readonly TaskCompletionSource _turn = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _pidfd;
    private Task _watch = Task.CompletedTask;

    private SupervisorChannel(Socket requests, Socket lifeline, int pidfd)
    {
        _requests = requests;
        _lifeline = lifeline;
        _pidfd = pidfd;
        _stream = new NetworkStream(requests, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    /// <summary>Fires when the supervisor is gone.</summary>
    public CancellationToken Lost => _lost.Token;

    public static async Task<SupervisorChannel> ConnectAsync(int supervisorPid, CancellationToken cancellationToken)
    {
        var endpoint = new UnixDomainSocketEndPoint(SupervisorMessages.SocketName(supervisorPid));
        var requests = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var lifeline = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await requests.ConnectAsync(endpoint, cancellationToken);
        await lifeline.ConnectAsync(endpoint, cancellationToken);
        var channel = new SupervisorChannel(requests, lifeline, PidFd.Open(supervisorPid));
        await channel.SendAsync(new SupervisorRequest("hello", Environment.ProcessId), cancellationToken);
        await lifeline.SendAsync(Encoding.UTF8.GetBytes(
            JsonSerializer.Serialize(new SupervisorRequest("hello", Environment.ProcessId), SupervisorMessages.Json) + "\n"
            + JsonSerializer.Serialize(new SupervisorRequest("lifeline"), SupervisorMessages.Json) + "\n"), cancellationToken);
        channel._watch = Task.Run(channel.WatchAsync, CancellationToken.None);
        return channel;
    }

    /// <summary>Completes when this worker may take the admin API (no worker before it changes the state any more).</summary>
    public Task Turn => _turn.Task;

    private async Task WatchAsync()
    {
        try
        {
            using var reader = new StreamReader(new NetworkStream(_lifeline, ownsSocket: false), Encoding.UTF8);
            // The hello's answer, "go" when it is our turn, then nothing until the supervisor ends.
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line == "go")
                {
                    _turn.TrySetResult();
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
        _turn.TrySetCanceled();
        await _lost.CancelAsync();
    }

    public async Task<SupervisorReply> SendAsync(SupervisorRequest request, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request, SupervisorMessages.Json) + "\n"), cancellationToken);
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException("the router's supervisor closed the connection");
            var reply = JsonSerializer.Deserialize<SupervisorReply>(line, SupervisorMessages.Json) ?? throw new IOException("the router's supervisor answered nothing");
            return reply.Error is { } error && !reply.InUse ? throw new IOException($"the router's supervisor: {error}") : reply;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>This process's own copy of one of the supervisor's descriptors.</summary>
    public int Take(int fd) => PidFd.Take(_pidfd, fd);

    public async ValueTask DisposeAsync()
    {
        _requests.Dispose();
        _lifeline.Dispose();
        await _watch;
        PidFd.Close(_pidfd);
        _reader.Dispose();
        _lost.Dispose();
        _gate.Dispose();
    }
}
