using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The TCP sockets a running HAProxy master listens on at 127.0.0.1, keyed by port: found from /proc/PID/fd and
/// /proc/net/tcp (readable without ptrace rights), then copied into this process (pidfd_getfd(2)). Matched by port,
/// not by descriptor numbers saved beside it: a control plane that crashed during a start beside the old master
/// left a state.json that describes the old one.
/// </summary>
internal static class MasterSockets
{
    /// <summary>Port -> the master's descriptor number of each socket it holds listening on 127.0.0.1.</summary>
    public static Dictionary<int, int> Listening(int masterPid)
    {
        // /proc/net/tcp: "sl local_address rem_address st ... inode"; 0100007F is 127.0.0.1, st 0A is LISTEN.
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var fields in File.ReadLines($"/proc/{masterPid}/net/tcp").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (fields.Length > 9 && fields[3] == "0A" && fields[1].StartsWith("0100007F:", StringComparison.Ordinal))
            {
                ports[fields[9]] = int.Parse(fields[1]["0100007F:".Length..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }
        var result = new Dictionary<int, int>();
        foreach (var link in Directory.EnumerateFileSystemEntries($"/proc/{masterPid}/fd"))
        {
            if (int.TryParse(Path.GetFileName(link), out var number) && new FileInfo(link).LinkTarget is { } target
                && target.StartsWith("socket:[", StringComparison.Ordinal) && ports.TryGetValue(target["socket:[".Length..^1], out var port))
            {
                result.TryAdd(port, number);
            }
        }
        return result;
    }

    /// <summary>
    /// This process's copy of the master's descriptor <paramref name="number"/> when it is a socket listening on
    /// 127.0.0.1:<paramref name="port"/>, or null. Throws IOException when the master refuses (pidfd_getfd needs ptrace
    /// rights: Yama's ptrace_scope=1 refuses them to a process that is not its parent).
    /// </summary>
    public static Socket? Take(int pidfd, int number, int port)
    {
        var handle = new SafeSocketHandle(Supervisor.PidFd.Take(pidfd, number), ownsHandle: true);
        Socket? socket = null;
        try
        {
            socket = new Socket(handle);
            if (socket.LocalEndPoint is IPEndPoint local && IPAddress.IsLoopback(local.Address) && local.Port == port)
            {
                return socket;
            }
        }
        catch (SocketException)
        {
            // Not a socket .NET can take (it was replaced since it was listed): not the endpoint's.
        }
        if (socket is not null) { socket.Dispose(); } else { handle.Dispose(); }
        return null;
    }
}
