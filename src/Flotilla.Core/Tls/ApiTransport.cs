using System.Net;

namespace Flotilla.Tls;

/// <summary>How the API is served: over HTTPS with the user's certificate, over HTTPS with the server's own self-signed one, or over plain HTTP.</summary>
public enum ApiTransportKind
{
    GivenCertificate,
    SelfSigned,
    PlainHttp,
}

/// <summary>The decision of <see cref="ApiTransport.Decide"/>: the transport, and a warning to print loudly when there is one.</summary>
public sealed record ApiTransportPlan(ApiTransportKind Kind, string? Warning = null);

/// <summary>
/// Which transport the API gets, from the address it binds and the flags alone (no I/O): a token
/// sent in clear text must never cross a network, so plain HTTP is the default on loopback only.
/// </summary>
public static class ApiTransport
{
    public static ApiTransportPlan Decide(IPEndPoint listen, string? certificateFile, string? keyFile, bool tls, bool insecureHttp)
    {
        if ((certificateFile is null) != (keyFile is null))
        {
            throw new TlsSetupException(certificateFile is null
                ? "--tls-key was given without --tls-cert: pass both (PEM files), or neither for a self-signed certificate"
                : "--tls-cert was given without --tls-key: pass both (PEM files), or neither for a self-signed certificate");
        }
        var https = certificateFile is not null || tls;
        if (https && insecureHttp)
        {
            throw new TlsSetupException($"--insecure-http contradicts {(certificateFile is not null ? "--tls-cert" : "--tls")}: drop one of them");
        }
        if (certificateFile is not null)
        {
            return new ApiTransportPlan(ApiTransportKind.GivenCertificate);
        }
        if (tls)
        {
            return new ApiTransportPlan(ApiTransportKind.SelfSigned);
        }
        if (IsLoopback(listen.Address))
        {
            return new ApiTransportPlan(ApiTransportKind.PlainHttp);
        }
        return insecureHttp
            ? new ApiTransportPlan(ApiTransportKind.PlainHttp,
                $"WARNING: the API serves plain HTTP on {listen}, a non-loopback address (--insecure-http): tokens and secrets cross the network in clear text; "
                + "anyone on the path can read and replay them. Drop --insecure-http for HTTPS (a self-signed certificate the client pins), or pass --tls-cert and --tls-key.")
            : new ApiTransportPlan(ApiTransportKind.SelfSigned);
    }

    /// <summary>127.0.0.0/8 and ::1 (an IPv4 loopback address mapped to IPv6 too); any-address binds are not loopback.</summary>
    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
