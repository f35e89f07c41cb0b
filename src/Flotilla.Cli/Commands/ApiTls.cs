using System.Net;
using System.Security.Cryptography.X509Certificates;
using Flotilla.Tls;

namespace Flotilla.Cli.Commands;

/// <summary>The API's HTTPS certificate as <c>flotilla server</c> resolved it from its flags, and how it tells people to connect.</summary>
internal sealed record ApiTls(X509Certificate2 Certificate, bool SelfSigned, bool Created)
{
    public string Fingerprint => CertificateFingerprint.Of(Certificate);

    /// <summary>Null for plain HTTP (after a loud warning when that is off loopback); throws <see cref="TlsSetupException"/> with the fix.</summary>
    public static ApiTls? Resolve(string dataDirectory, IPEndPoint listen, string? certificateFile, string? keyFile, bool tls, bool insecureHttp)
    {
        var plan = ApiTransport.Decide(listen, certificateFile, keyFile, tls, insecureHttp);
        switch (plan.Kind)
        {
            case ApiTransportKind.GivenCertificate:
                return new ApiTls(ApiCertificates.LoadPem(Path.GetFullPath(certificateFile!), Path.GetFullPath(keyFile!)), false, false);
            case ApiTransportKind.SelfSigned:
                var (certificate, created) = ApiCertificates.SelfSigned(dataDirectory, listen, Dns.GetHostName(), DateTimeOffset.UtcNow);
                return new ApiTls(certificate, true, created);
            default:
                if (plan.Warning is not null)
                {
                    Console.Error.WriteLine(plan.Warning);
                    Console.WriteLine(plan.Warning);
                }
                return null;
        }
    }

    /// <summary>The certificate's fingerprint and the line a user runs on another machine to connect (URL with the host name when bound to any address).</summary>
    public void Announce(string url, IPEndPoint listen)
    {
        var where = listen.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any)
            ? new UriBuilder(url) { Host = Dns.GetHostName() }.Uri.GetLeftPart(UriPartial.Authority)
            : url;
        var origin = SelfSigned
            ? $"self-signed certificate {(Created ? "made now" : "made at the first start")} (tls/ in the data directory)"
            : $"certificate '{Certificate.Subject}'";
        Console.WriteLine($"HTTPS with the {origin}, fingerprint {Fingerprint}");
        Console.WriteLine($"to connect from elsewhere: flotilla login --server {where} --fingerprint {Fingerprint} --token <token>");
    }
}
