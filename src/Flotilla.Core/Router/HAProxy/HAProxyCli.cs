using System.Net.Sockets;
using System.Text;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// One command on an HAProxy CLI socket (the worker's stats socket, or the master's). The master
/// CLI keeps the connection open after answering, so every command is followed by <c>quit</c>.
/// </summary>
internal static class HAProxyCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task<string> SendAsync(string socketPath, string command, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + ";quit\n"), SocketFlags.None, timeout.Token);
        var answer = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                return answer.ToString();
            }
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }
}
