using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flotilla.Tests.Support;
using Flotilla.Tests.Tenancy;

namespace Flotilla.Tests.Tls;

/// <summary>
/// <c>flotilla server</c> over HTTPS, as real processes on loopback sockets: the user's certificate
/// or its own self-signed one (made once, kept), and the CLI pinning it.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed partial class ApiTlsServerTests
{
    private const string WrongPin = "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

    [GeneratedRegex(@"fingerprint (SHA256:[0-9A-F:]{95})")]
    private static partial Regex FingerprintLine();

    private static string Url(CliProcess server) =>
        server.Lines.First(l => l.StartsWith("flotilla server listening on ", StringComparison.Ordinal)).Split(' ')[4];

    private static string Fingerprint(CliProcess server) =>
        server.Lines.Select(l => FingerprintLine().Match(l)).First(m => m.Success).Groups[1].Value;

    /// <summary>The CLI with a client config of its own (none of the server's pin or token), and extra arguments.</summary>
    private static Task<(int Code, string Output)> Stranger(string config, params string[] args) =>
        ServerHarness.CliAsync(new Dictionary<string, string> { ["FLOTILLA_CONFIG"] = config }, args);

    [Fact]
    public async Task SelfSignedCertificate_IsMadeOnce_KeptPrivate_AndTheSameAfterARestart()
    {
        using var harness = new ServerHarness();
        var first = await harness.StartServerAsync("read-only token (shown once)", "--tls");
        var url = Url(first);
        Assert.StartsWith("https://127.0.0.1:", url, StringComparison.Ordinal);
        var fingerprint = Fingerprint(first);
        Assert.Contains(first.Lines, l => l.Contains("self-signed certificate made now", StringComparison.Ordinal));
        Assert.Contains($"to connect from elsewhere: flotilla login --server {url} --fingerprint {fingerprint} --token <token>", first.Lines);
        var key = Path.Combine(harness.DataDirectory, "tls", "api.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        Assert.Equal(fingerprint, (string?)JsonNode.Parse(File.ReadAllText(harness.ConfigFile))!["fingerprint"]);
        var (code, output) = await harness.CliAsync("token", "ls");
        Assert.True(code == 0, output);

        // The port speaks TLS only: a plain-HTTP request gets no API answer.
        using (var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(20) })
        {
            var answered = false;
            try
            {
                answered = (await plain.GetAsync(url.Replace("https://", "http://", StringComparison.Ordinal) + "/healthz")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
            }
            Assert.False(answered);
        }

        var keyBytes = File.ReadAllBytes(key);
        first.Interrupt();
        Assert.Equal(0, await first.WaitForExitAsync(ServerHarness.Wait));
        // A new port: the config follows it, and keeps the same pin.
        var second = await harness.StartServerAsync("updated the server URL", "--tls");
        Assert.Equal(fingerprint, Fingerprint(second));
        Assert.Contains(second.Lines, l => l.Contains("self-signed certificate made at the first start", StringComparison.Ordinal));
        Assert.Equal(keyBytes, File.ReadAllBytes(key));
        Assert.Equal(0, (await harness.CliAsync("token", "ls")).Code);

        // Another machine's user: refused until they pin it, then logged in and remembered.
        var token = (string)JsonNode.Parse(File.ReadAllText(harness.ConfigFile))!["token"]!;
        var config = Path.Combine(harness.SpecDirectory, "stranger.json");
        var (refused, refusal) = await Stranger(config, "token", "ls", "--server", Url(second), "--token", token);
        Assert.Equal(1, refused);
        Assert.Contains($"showed a certificate ({fingerprint}) this machine does not trust", refusal, StringComparison.Ordinal);
        Assert.Contains($"flotilla login --server {Url(second)} --fingerprint {fingerprint}", refusal, StringComparison.Ordinal);
        var (loggedIn, login) = await Stranger(config, "login", "--server", Url(second), "--fingerprint", fingerprint, "--token", token);
        Assert.True(loggedIn == 0, login);
        Assert.Contains($"certificate pinned {fingerprint}", login, StringComparison.Ordinal);
        Assert.Equal(0, (await Stranger(config, "token", "ls")).Code);
    }

    [Fact]
    public async Task GivenCertificate_IsServed_ClientsCheckItByCaOrPin_AndAWrongPinSendsNothing()
    {
        using var harness = new ServerHarness();
        var certificates = TestCertificates.Write(Path.Combine(harness.SpecDirectory, "pki"), "given");
        var server = await harness.StartServerAsync("read-only token (shown once)", "--tls-cert", certificates.CertificateFile, "--tls-key", certificates.KeyFile);
        Assert.Equal(certificates.Fingerprint, Fingerprint(server));
        Assert.False(Directory.Exists(Path.Combine(harness.DataDirectory, "tls")));
        Assert.Equal(0, (await harness.CliAsync("token", "ls")).Code);
        var token = (string)JsonNode.Parse(File.ReadAllText(harness.ConfigFile))!["token"]!;
        var localhost = Url(server).Replace("127.0.0.1", "localhost", StringComparison.Ordinal);

        // A wrong pin: refused in the handshake, naming both fingerprints and the fix; the server's store is untouched.
        var before = TenantHarness.Dump(harness.DataDirectory);
        var (code, output) = await harness.CliAsync("token", "create", "intruder", "--role", "operator", "--fingerprint", WrongPin);
        Assert.Equal(1, code);
        Assert.Contains($"showed a certificate with fingerprint {certificates.Fingerprint}, but this client pins {WrongPin}: nothing was sent", output, StringComparison.Ordinal);
        Assert.Contains($"pin it: flotilla login --server {Url(server)} --fingerprint {certificates.Fingerprint}", output, StringComparison.Ordinal);
        Assert.Equal(before, TenantHarness.Dump(harness.DataDirectory));
        Assert.DoesNotContain("intruder", (await harness.CliAsync("token", "ls")).Output, StringComparison.Ordinal);

        // The CA that issued it, as kubeconfig's certificate-authority: trusted for the names it carries.
        var config = Path.Combine(harness.SpecDirectory, "ca.json");
        var (loggedIn, login) = await Stranger(config, "login", "--server", localhost, "--ca-file", certificates.CaFile, "--token", token);
        Assert.True(loggedIn == 0, login);
        Assert.Contains($"certificate checked against {certificates.CaFile}", login, StringComparison.Ordinal);
        Assert.Equal(0, (await Stranger(config, "token", "ls")).Code);

        // Another CA, or none (the system store does not know this one): refused, the fingerprint shown.
        var other = TestCertificates.Write(Path.Combine(harness.SpecDirectory, "pki"), "other");
        var (wrongCa, wrongCaOutput) = await Stranger(Path.Combine(harness.SpecDirectory, "none.json"), "token", "ls", "--server", localhost, "--token", token, "--ca-file", other.CaFile);
        Assert.Equal(1, wrongCa);
        Assert.Contains($"does not chain to the CA in {other.CaFile}", wrongCaOutput, StringComparison.Ordinal);
        var (noTrust, noTrustOutput) = await Stranger(Path.Combine(harness.SpecDirectory, "none.json"), "token", "ls", "--server", localhost, "--token", token);
        Assert.Equal(1, noTrust);
        Assert.Contains($"({certificates.Fingerprint}) this machine does not trust", noTrustOutput, StringComparison.Ordinal);
        Assert.Equal(before, TenantHarness.Dump(harness.DataDirectory));
    }

    [Fact]
    public async Task UnusableCertificateOrKey_IsRefusedClearly_AndNothingStarts()
    {
        using var harness = new ServerHarness();
        var pki = Path.Combine(harness.SpecDirectory, "pki");
        var one = TestCertificates.Write(pki, "one");
        var two = TestCertificates.Write(pki, "two");
        var garbage = Path.Combine(pki, "garbage.pem");
        File.WriteAllText(garbage, "not a certificate\n");
        (string[] Args, string Message)[] cases =
        [
            (["--tls-cert", Path.Combine(pki, "missing.pem"), "--tls-key", one.KeyFile], $"error: --tls-cert {Path.Combine(pki, "missing.pem")}: no such file"),
            (["--tls-cert", one.CertificateFile, "--tls-key", two.KeyFile], $"error: --tls-cert {one.CertificateFile} with --tls-key {two.KeyFile}: cannot be used"),
            (["--tls-cert", garbage, "--tls-key", one.KeyFile], $"error: --tls-cert {garbage} with --tls-key {one.KeyFile}: cannot be used"),
            (["--tls-cert", one.CertificateFile], "error: --tls-cert was given without --tls-key"),
            (["--tls", "--insecure-http"], "error: --insecure-http contradicts --tls"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, output) = await harness.CliAsync(["server", "--data", harness.DataDirectory, "--listen", "127.0.0.1:0", .. args]);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exited {code}: {output}");
            Assert.Contains(message, output, StringComparison.Ordinal);
            Assert.DoesNotContain("listening", output, StringComparison.Ordinal);
            Assert.False(Directory.Exists(harness.DataDirectory), "nothing is written to the data directory");
        }
    }
}
