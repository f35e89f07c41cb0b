using System.Net;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Tls;

namespace Flotilla.Tests.Tls;

/// <summary>Which transport the API gets from its bind address and flags: plain HTTP never leaves loopback unless asked for loudly.</summary>
public sealed class ApiTransportTests
{
    [Theory]
    [InlineData("127.0.0.1:7070", null, null, false, false, ApiTransportKind.PlainHttp, false)]
    [InlineData("127.0.0.2:7070", null, null, false, false, ApiTransportKind.PlainHttp, false)]
    [InlineData("[::1]:7070", null, null, false, false, ApiTransportKind.PlainHttp, false)]
    [InlineData("[::ffff:127.0.0.1]:7070", null, null, false, false, ApiTransportKind.PlainHttp, false)]
    [InlineData("0.0.0.0:7070", null, null, false, false, ApiTransportKind.SelfSigned, false)]
    [InlineData("[::]:7070", null, null, false, false, ApiTransportKind.SelfSigned, false)]
    [InlineData("10.1.2.3:7070", null, null, false, false, ApiTransportKind.SelfSigned, false)]
    [InlineData("10.1.2.3:7070", null, null, false, true, ApiTransportKind.PlainHttp, true)]
    [InlineData("0.0.0.0:7070", null, null, false, true, ApiTransportKind.PlainHttp, true)]
    [InlineData("127.0.0.1:7070", null, null, false, true, ApiTransportKind.PlainHttp, false)]
    [InlineData("127.0.0.1:7070", null, null, true, false, ApiTransportKind.SelfSigned, false)]
    [InlineData("127.0.0.1:7070", "c.pem", "k.pem", false, false, ApiTransportKind.GivenCertificate, false)]
    [InlineData("0.0.0.0:7070", "c.pem", "k.pem", true, false, ApiTransportKind.GivenCertificate, false)]
    public void Transport_FollowsTheBindAddressAndFlags(string listen, string? certificate, string? key, bool tls, bool insecure, ApiTransportKind expected, bool warns)
    {
        var plan = ApiTransport.Decide(IPEndPoint.Parse(listen), certificate, key, tls, insecure);
        Assert.Equal(expected, plan.Kind);
        Assert.Equal(warns, plan.Warning is not null);
        if (warns)
        {
            Assert.Contains("clear text", plan.Warning, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("c.pem", null, false, false, "--tls-cert was given without --tls-key")]
    [InlineData(null, "k.pem", false, false, "--tls-key was given without --tls-cert")]
    [InlineData("c.pem", "k.pem", false, true, "--insecure-http contradicts --tls-cert")]
    [InlineData(null, null, true, true, "--insecure-http contradicts --tls")]
    public void ContradictoryFlags_AreRefused_NamingThem(string? certificate, string? key, bool tls, bool insecure, string message)
    {
        var error = Assert.Throws<TlsSetupException>(() => ApiTransport.Decide(IPEndPoint.Parse("0.0.0.0:7070"), certificate, key, tls, insecure));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SHA256:AB:cd:" + "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD", "abcd00112233445566778899aabbccddeeff00112233445566778899aabbccdd")]
    [InlineData("abcd00112233445566778899aabbccddeeff00112233445566778899aabbccdd", "abcd00112233445566778899aabbccddeeff00112233445566778899aabbccdd")]
    [InlineData("SHA256:abcd", null)]
    [InlineData("SHA256:zz" + "cd00112233445566778899aabbccddeeff00112233445566778899aabbccdd", null)]
    public void Fingerprints_AreReadWithOrWithoutPrefixColonsAndCase(string text, string? digits) =>
        Assert.Equal(digits, CertificateFingerprint.Normalize(text));

    [Fact]
    public void AClientConfigWrittenBeforeTls_ReadsAsBefore_WithNoPin()
    {
        var config = JsonSerializer.Deserialize<ClientConfig>("""{"server":"http://127.0.0.1:7070","token":"flo_x"}""", ApiJson.Options)!;
        Assert.Equal(new ClientConfig("http://127.0.0.1:7070", "flo_x"), config);
        Assert.Null(config.Fingerprint);
        Assert.Null(config.CaFile);
    }
}
