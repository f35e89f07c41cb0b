using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotilla.Tls;

namespace Flotilla.Cli.Client;

/// <summary>
/// Whether the CLI trusts the certificate an HTTPS server shows, checked during the handshake,
/// so a refused server never receives a request (nor the token). A pinned fingerprint decides
/// alone (as ssh's known host key does: the self-signed certificate names no CA); else a CA file
/// the certificate must chain to, with the host name matching; else the system's trust store.
/// </summary>
internal sealed class ServerTrust
{
    private readonly Uri _server;
    private readonly string? _fingerprint;
    private readonly string? _caFile;
    private readonly X509Certificate2Collection? _authorities;

    public ServerTrust(Uri server, string? fingerprint, string? caFile)
    {
        _server = server;
        _fingerprint = fingerprint;
        _caFile = caFile;
        if (fingerprint is not null && CertificateFingerprint.Normalize(fingerprint) is null)
        {
            throw new ApiException($"the pinned fingerprint '{fingerprint}' is not a SHA-256 fingerprint: it looks like SHA256:AB:CD:... (64 hex digits), as 'flotilla server' prints it");
        }
        if (server.Scheme == Uri.UriSchemeHttp && (fingerprint ?? caFile) is not null)
        {
            throw new ApiException($"the server {server} is plain HTTP, but this client pins its certificate ({fingerprint ?? caFile}): nothing was sent; use its https:// URL (flotilla login --server https://{server.Authority} ...)");
        }
        if (caFile is not null)
        {
            try
            {
                _authorities = [];
                _authorities.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new ApiException($"the CA file {caFile} cannot be read: {e.Message}; pass a PEM file holding the certificate of the CA that issued the server's");
            }
        }
    }

    /// <summary>Why the last handshake was refused, for people; null when none was.</summary>
    public string? Refusal { get; private set; }

    public SocketsHttpHandler Handler() => new()
    {
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Accept(certificate, chain, errors) },
    };

    private bool Accept(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            Refusal = $"the server at {_server} showed no certificate: nothing was sent";
            return false;
        }
        var seen = CertificateFingerprint.Of(certificate);
        var pinIt = $"flotilla login --server {_server.GetLeftPart(UriPartial.Authority)} --fingerprint {seen}";
        if (_fingerprint is not null)
        {
            if (CertificateFingerprint.Matches(certificate, _fingerprint))
            {
                return true;
            }
            Refusal = $"the server at {_server} showed a certificate with fingerprint {seen}, but this client pins {_fingerprint}: nothing was sent. "
                + "If the server's certificate was replaced on purpose (new --tls-cert, or its data directory's tls/ removed), check the fingerprint 'flotilla server' printed "
                + $"and pin it: {pinIt}; if not, something between you and the server may be impersonating it.";
            return false;
        }
        if (_authorities is not null)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_authorities);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
            }
            var chained = custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            if (chained && !errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            {
                return true;
            }
            Refusal = $"the server at {_server} showed a certificate ({seen}) that "
                + (chained ? $"does not name {_server.Host}" : $"does not chain to the CA in {_caFile} ({string.Join("; ", custom.ChainStatus.Select(s => s.StatusInformation.Trim()))})")
                + ": nothing was sent. Pass the CA that issued it (--ca-file), or pin the certificate after checking it: " + pinIt;
            return false;
        }
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        Refusal = $"the server at {_server} showed a certificate ({seen}) this machine does not trust ({errors}): nothing was sent. "
            + $"If it is the self-signed certificate 'flotilla server' made, check that fingerprint against the one it printed and pin it: {pinIt}; "
            + "or pass --ca-file with the CA that issued it.";
        return false;
    }
}
