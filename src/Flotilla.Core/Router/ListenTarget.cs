using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Flotilla.Router;

/// <summary>
/// Where an embedded endpoint listens: an address Kestrel binds itself, or a listening socket
/// that is already open (held by the router's supervisor and handed to this process).
/// </summary>
public sealed record ListenTarget(IPEndPoint Address, ulong? Handle = null)
{
    public void ApplyTo(KestrelServerOptions kestrel, Action<ListenOptions>? configure = null)
    {
        if (Handle is { } handle)
        {
            kestrel.ListenHandle(handle, configure ?? (_ => { }));
        }
        else
        {
            kestrel.Listen(Address, configure ?? (_ => { }));
        }
    }
}
