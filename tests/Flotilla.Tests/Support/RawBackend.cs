using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Flotilla.Tests.Support;

/// <summary>
/// A bare TCP server on 127.0.0.1 that speaks just enough HTTP to behave as servers the router
/// must cope with: an HTTP/1.0 server that closes every connection after its answer (python's
/// http.server), one that reads the request and hangs up without answering, or one that sends the
/// head of its answer and hangs up before the body (a process killed between its two writes).
/// </summary>
public sealed class RawBackend : IAsyncDisposable
{
    public enum Behaviour
    {
        Http10ClosePerRequest,
        HangUp,
        HeadThenHangUp,
    }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Behaviour _behaviour;
    private readonly byte[] _answer;
    private readonly Task _accepting;
    private int _requests;
    private int _reused;

    private RawBackend(string name, Behaviour behaviour)
    {
        _behaviour = behaviour;
        _answer = Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nServer: raw\r\nContent-Type: text/plain\r\nContent-Length: {name.Length}\r\n\r\n{name}");
        _listener.Start(backlog: 128);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    /// <summary>Requests read in full (answered or hung up on).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests sent on a connection this HTTP/1.0 server had already answered (and was closing).</summary>
    public int ReusedConnections => Volatile.Read(ref _reused);

    /// <summary>Listens at once, on a port of its own.</summary>
    public static RawBackend Start(string name, Behaviour behaviour) => new(name, behaviour);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                var buffer = new byte[8192];
                var read = 0;
                while (IndexOfEndOfHead(buffer, read) < 0)
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(read), _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }
                    read += n;
                }
                Interlocked.Increment(ref _requests);
                if (_behaviour == Behaviour.Http10ClosePerRequest)
                {
                    await socket.SendAsync(_answer, _stop.Token);
                    socket.Shutdown(SocketShutdown.Send);
                    // As HTTP/1.0 allows, this connection is done; a client that sends another
                    // request on it (a reused connection) is counted, then gets a reset.
                    using var linger = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    linger.CancelAfter(TimeSpan.FromMilliseconds(50));
                    if (await socket.ReceiveAsync(buffer, linger.Token) > 0)
                    {
                        Interlocked.Increment(ref _reused);
                    }
                    return;
                }
                if (_behaviour == Behaviour.HeadThenHangUp)
                {
                    var answer = Encoding.ASCII.GetString(_answer);
                    await socket.SendAsync(Encoding.ASCII.GetBytes(answer[..(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)]), _stop.Token);
                }
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private static int IndexOfEndOfHead(byte[] buffer, int length) => buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
