using System.Text.Json;

namespace Flotilla.Router.Supervisor;

/// <summary>
/// The line protocol between a router worker and its supervisor, one JSON object a line on an
/// abstract Unix socket named after the supervisor's pid (loopback of this machine only, no file).
/// </summary>
internal static class SupervisorMessages
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The supervisor's control socket: abstract (leading NUL), so nothing to clean up.</summary>
    public static string SocketName(int supervisorPid) => $"\0flotilla-router-supervisor-{supervisorPid}";
}

/// <summary>
/// <c>hello</c> (the worker's pid, first on each connection), <c>listen</c> (a key, address and
/// port: the held socket's descriptor), <c>close</c> (a key), <c>ready</c> (the worker serves its
/// endpoints), <c>reload</c> (start a new worker and retire this one), <c>lifeline</c> (answered
/// <c>go</c> when this worker may take the admin API: at once, or once the worker it replaces has
/// ended; then nothing, and its end tells the worker the supervisor is gone).
/// </summary>
internal sealed record SupervisorRequest(string Op, int? Pid = null, string? Key = null, string? Address = null, int? Port = null);

internal sealed record SupervisorReply(int? Port = null, int? Fd = null, string? Error = null, bool InUse = false);
