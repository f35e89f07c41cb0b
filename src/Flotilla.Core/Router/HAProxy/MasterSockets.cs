using System.Net;
using System.Net.Sockets;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The TCP sockets a running HAProxy master listens on at 127.0.0.1, copied into this process (pidfd_getfd(2)) and
/// keyed by the port each is bound to (getsockname): what an adopting control plane holds again. Matched by port,
/// not by descriptor numbers saved beside it: a control plane that crashed during a start beside the old master
/// left a state.json that describes the old one.
/// </summary>
internal static class MasterSockets
{
    /// <summary>Port -> (the master's descriptor number, this process's copy). Throws IOException when the master refuses (pidfd_getfd needs ptrace rights: Yama's ptrace_scope=1 refuses a process that is not its parent).</summary>
    public static Dictionary<int, (int Number, Socket Socket)> Take(int masterPid)
    {
        var taken = new Dictionary<int, (int Number, Socket Socket)>();
        var pidfd = Supervisor.PidFd.Open(masterPid);
        try
        {
            foreach (var link in Directory.EnumerateFileSystemEntries($"/proc/{masterPid}/fd"))
            {
                if (!int.TryParse(Path.GetFileName(link), out var number) || new FileInfo(link).LinkTarget is not { } target || !target.StartsWith("socket:", StringComparison.Ordinal))
                {
                    continue;
                }
                var socket = Listening(Supervisor.PidFd.Take(pidfd, number));
                if (socket is not null && !taken.TryAdd(((IPEndPoint)socket.LocalEndPoint!).Port, (number, socket)))
                {
                    socket.Dispose();
                }
            }
        }
        catch
        {
            foreach (var (_, socket) in taken.Values) { socket.Dispose(); }
            throw;
        }
        finally
        {
            Supervisor.PidFd.Close(pidfd);
        }
        return taken;
    }

    /// <summary>The descriptor as a socket when it is a TCP socket listening on a loopback address; closed otherwise.</summary>
    private static Socket? Listening(int fd)
    {
        var handle = new SafeSocketHandle(fd, ownsHandle: true);
        Socket? socket = null;
        try
        {
            socket = new Socket(handle);
            if (socket.AddressFamily == AddressFamily.InterNetwork && socket.SocketType == SocketType.Stream
                && socket.LocalEndPoint is IPEndPoint local && IPAddress.IsLoopback(local.Address)
                && (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)! != 0)
            {
                return socket;
            }
        }
        catch (SocketException)
        {
            // Not a socket .NET can take: not one of the endpoints'.
        }
        if (socket is not null) { socket.Dispose(); } else { handle.Dispose(); }
        return null;
    }
}
