using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Flotilla.Runtime;

namespace Flotilla.Router.Supervisor;

/// <summary>
/// The router process as the control plane starts it: it holds the listening sockets of every
/// endpoint (and the admin and flag ports) and runs the router itself as a worker process that
/// takes copies of them. When the worker dies, the sockets stay open, so new connections wait
/// in the kernel's backlog instead of being refused, and the next worker serves them with the
/// last routing table (kept on disk by the worker). A reload starts a new worker beside the old
/// one; both accept on the same sockets until the old one has finished its requests and left.
/// This is nginx's master process, and HAProxy's master-worker mode, in a few hundred lines.
/// </summary>
internal sealed class RouterSupervisor
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(35);
    private readonly Dictionary<string, Socket> _held = new(StringComparer.Ordinal);
    private readonly Lock _heldGate = new();
    private readonly Dictionary<int, Worker> _workers = [];
    private readonly Func<bool, int> _spawnWorker;
    private readonly Action<string> _log;
    private readonly System.Threading.Channels.Channel<bool> _reloads = System.Threading.Channels.Channel.CreateUnbounded<bool>();

    /// <param name="spawnWorker">Starts a worker process (in this process group; warmed up first when true) and returns its pid.</param>
    public RouterSupervisor(Func<bool, int> spawnWorker, Action<string> log)
    {
        _spawnWorker = spawnWorker;
        _log = log;
    }

    /// <summary>Asks for a new worker to replace the running one without dropping a request.</summary>
    public void RequestReload() => _reloads.Writer.TryWrite(true);

    /// <summary>Opens the admin port, then supervises workers until <paramref name="stopping"/>; the running worker is stopped last.</summary>
    /// <param name="bind">The address every socket of this router listens on (loopback unless it serves other machines).</param>
    public async Task RunAsync(IPAddress bind, int adminPort, CancellationToken stopping)
    {
        var admin = Listen("admin", new IPEndPoint(bind, adminPort));
        if (admin.Error is { } error)
        {
            throw new IOException($"the router's admin port {adminPort}: {error}");
        }
        using var control = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        control.Bind(new UnixDomainSocketEndPoint(SupervisorMessages.SocketName(Environment.ProcessId)));
        control.Listen(16);
        var accepting = Task.Run(() => AcceptAsync(control, stopping), CancellationToken.None);
        await SuperviseAsync(stopping);
        control.Close();
        await accepting;
        lock (_heldGate)
        {
            foreach (var socket in _held.Values)
            {
                socket.Dispose();
            }
            _held.Clear();
        }
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var current = Start(mayServeAtOnce: true);
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            var reload = _reloads.Reader.WaitToReadAsync(stopping).AsTask();
            await Task.WhenAny(current.Exited, reload, Task.Delay(Timeout.Infinite, stopping)).ConfigureAwait(false);
            if (stopping.IsCancellationRequested)
            {
                break;
            }
            if (current.Exited.IsCompleted)
            {
                // The listening sockets are still open here: connections wait in the backlog meanwhile.
                var lived = DateTime.UtcNow - current.Started;
                failures = lived > TimeSpan.FromSeconds(10) ? 0 : failures + 1;
                var delay = failures <= 1 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Min(5000, 100 << Math.Min(failures - 2, 6)));
                _log($"router worker {current.Pid} ended ({Describe(await current.Exited)}); starting another on the same sockets{(delay > TimeSpan.Zero ? $" in {delay.TotalMilliseconds:0} ms" : "")}");
                await Task.WhenAny(Task.Delay(delay, stopping)).ConfigureAwait(false);
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
                current = Start(mayServeAtOnce: true);
                continue;
            }
            while (_reloads.Reader.TryRead(out _))
            {
            }
            current = await ReloadAsync(current, stopping);
        }
        _log($"router stopping: worker {current.Pid} finishes its requests");
        Posix.Signal(current.Pid, Posix.SIGTERM);
        await StopAsync(current);
    }

    /// <summary>A new worker serves beside the old one; the old one is asked to finish its requests and leave.</summary>
    private async Task<Worker> ReloadAsync(Worker old, CancellationToken stopping)
    {
        var next = Start(mayServeAtOnce: false);
        _log($"router reload: worker {next.Pid} starts beside worker {old.Pid}");
        var ready = await Task.WhenAny(next.Ready.Task, next.Exited, Task.Delay(ReadyTimeout, stopping)).ConfigureAwait(false);
        if (ready != next.Ready.Task)
        {
            _log($"router reload failed: worker {next.Pid} {(next.Exited.IsCompleted ? "ended" : "was not ready in time")}; worker {old.Pid} keeps serving");
            Posix.Signal(next.Pid, Posix.SIGKILL);
            return old;
        }
        Posix.Signal(old.Pid, Posix.SIGTERM);
        await StopAsync(old);
        next.MayServe.TrySetResult();
        _log($"router reload: worker {next.Pid} serves; worker {old.Pid} finished");
        return next;
    }

    private async Task StopAsync(Worker worker)
    {
        if (await Task.WhenAny(worker.Exited, Task.Delay(DrainTimeout)).ConfigureAwait(false) != worker.Exited)
        {
            _log($"router worker {worker.Pid} did not finish in {DrainTimeout.TotalSeconds:0} s; killed");
            Posix.Signal(worker.Pid, Posix.SIGKILL);
            await worker.Exited;
        }
    }

    private Worker Start(bool mayServeAtOnce)
    {
        // A worker that serves at once replaces a dead one (or is the first): no time to warm up.
        var pid = _spawnWorker(!mayServeAtOnce);
        var worker = new Worker(pid, DateTime.UtcNow, Task.Factory.StartNew(() => PosixSpawn.WaitForExit(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        if (mayServeAtOnce)
        {
            worker.MayServe.TrySetResult();
        }
        lock (_workers)
        {
            foreach (var gone in _workers.Where(w => w.Value.Exited.IsCompleted).Select(w => w.Key).ToList())
            {
                _workers.Remove(gone);
            }
            _workers[pid] = worker;
        }
        return worker;
    }

    private static string Describe(int? status) => status is not { } s ? "reaped elsewhere"
        : (s & 0x7f) == 0 ? $"exit code {(s >> 8) & 0xff}" : $"killed by {Posix.SignalName(s & 0x7f)}";

    private async Task AcceptAsync(Socket control, CancellationToken stopping)
    {
        var connections = new List<Task>();
        while (!stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await control.AcceptAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                break;
            }
            connections.Add(Task.Run(() => ServeAsync(connection, stopping), CancellationToken.None));
            connections.RemoveAll(c => c.IsCompleted);
        }
        await Task.WhenAll(connections);
    }

    /// <summary>One worker connection: requests in, one answer a line.</summary>
    private async Task ServeAsync(Socket connection, CancellationToken stopping)
    {
        using var stream = new NetworkStream(connection, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Worker? worker = null;
        try
        {
            while (await reader.ReadLineAsync(stopping) is { } line)
            {
                var request = JsonSerializer.Deserialize<SupervisorRequest>(line, SupervisorMessages.Json);
                SupervisorReply? reply;
                switch (request?.Op)
                {
                    case "hello":
                        lock (_workers)
                        {
                            worker = _workers.GetValueOrDefault(request.Pid ?? 0);
                        }
                        reply = worker is null ? new SupervisorReply(Error: $"process {request.Pid} is not a worker of this supervisor") : new SupervisorReply();
                        break;
                    case "listen" when worker is not null && request.Key is { } key:
                        reply = Listen(key, new IPEndPoint(IPAddress.Parse(request.Address ?? "127.0.0.1"), request.Port ?? 0));
                        break;
                    case "close" when worker is not null && request.Key is { } key:
                        Close(key);
                        reply = new SupervisorReply();
                        break;
                    case "ready" when worker is not null:
                        worker.Ready.TrySetResult();
                        reply = new SupervisorReply();
                        break;
                    case "reload" when worker is not null:
                        RequestReload();
                        reply = new SupervisorReply();
                        break;
                    case "lifeline" when worker is not null:
                        // Its turn is said on this line once no other worker changes the state; then silence until we end.
                        await worker.MayServe.Task.WaitAsync(stopping);
                        await stream.WriteAsync("go\n"u8.ToArray(), stopping);
                        await Task.Delay(Timeout.Infinite, stopping);
                        return;
                    default:
                        reply = new SupervisorReply(Error: $"unknown request '{request?.Op}' (or no hello first)");
                        break;
                }
                await stream.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(reply, SupervisorMessages.Json) + "\n"), stopping);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or JsonException or SocketException)
        {
        }
    }

    /// <summary>
    /// The socket held for <paramref name="key"/>: the one already held when it fits the address
    /// (port 0 fits any), else a newly bound one that replaces it (an endpoint moved to another port).
    /// </summary>
    private SupervisorReply Listen(string key, IPEndPoint address)
    {
        lock (_heldGate)
        {
            if (_held.TryGetValue(key, out var held) && held.LocalEndPoint is IPEndPoint bound
                && (address.Port == 0 || bound.Port == address.Port) && bound.Address.Equals(address.Address))
            {
                return new SupervisorReply(bound.Port, (int)held.SafeHandle.DangerousGetHandle());
            }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(address);
                socket.Listen(4096);   // the kernel caps it at net.core.somaxconn: room for a worker's restart
            }
            catch (SocketException e)
            {
                socket.Dispose();
                return new SupervisorReply(Error: e.Message, InUse: e.SocketErrorCode == SocketError.AddressAlreadyInUse);
            }
            held?.Dispose();
            _held[key] = socket;
            return new SupervisorReply(((IPEndPoint)socket.LocalEndPoint!).Port, (int)socket.SafeHandle.DangerousGetHandle());
        }
    }

    private void Close(string key)
    {
        lock (_heldGate)
        {
            if (_held.Remove(key, out var socket))
            {
                socket.Dispose();
            }
        }
    }

    private sealed class Worker(int pid, DateTime started, Task<int?> exited)
    {
        public int Pid { get; } = pid;
        public DateTime Started { get; } = started;
        public Task<int?> Exited { get; } = exited;

        /// <summary>The worker serves its endpoints with the last table.</summary>
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>It may take the admin API: no other worker will change the router's state any more.</summary>
        public TaskCompletionSource MayServe { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
