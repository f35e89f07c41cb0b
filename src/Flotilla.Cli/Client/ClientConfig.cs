using System.Text.Json;

namespace Flotilla.Cli.Client;

/// <summary>
/// Where the CLI finds its server and token, the way kubectl does: flags first, then
/// FLOTILLA_SERVER / FLOTILLA_TOKEN, then the config file that <c>flotilla server</c> writes
/// ($FLOTILLA_CONFIG, default ~/.config/flotilla/config.json). The server's certificate is trusted
/// as kubeconfig trusts a cluster's: a pinned SHA-256 <paramref name="Fingerprint"/> (what a
/// self-signed server prints) or a <paramref name="CaFile"/> it must chain to; with neither, the
/// system's trust store. A config written before TLS (server and token only) reads as before.
/// </summary>
internal sealed record ClientConfig(string? Server, string? Token, string? Fingerprint = null, string? CaFile = null)
{
    public static string FilePath => Environment.GetEnvironmentVariable("FLOTILLA_CONFIG") is { Length: > 0 } path
        ? path
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "flotilla", "config.json");

    public static ClientConfig Resolve(string? server, string? token, string? fingerprint = null, string? caFile = null)
    {
        var file = Load();
        var url = server ?? Environment.GetEnvironmentVariable("FLOTILLA_SERVER") ?? file?.Server;
        // The file's pin belongs to the file's server: another server named by a flag is not trusted by it.
        var sameServer = file is not null && string.Equals(url?.TrimEnd('/'), file.Server?.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);
        fingerprint ??= Environment.GetEnvironmentVariable("FLOTILLA_FINGERPRINT") ?? (sameServer ? file!.Fingerprint : null);
        caFile ??= Environment.GetEnvironmentVariable("FLOTILLA_CA_FILE") ?? (sameServer ? file!.CaFile : null);
        // Likewise its token: it goes to the file's server only, never to another one (or to the same one over plain http).
        return new ClientConfig(url, token ?? Environment.GetEnvironmentVariable("FLOTILLA_TOKEN") ?? (sameServer ? file!.Token : null),
            fingerprint is { Length: > 0 } ? fingerprint : null, caFile is { Length: > 0 } ? Path.GetFullPath(caFile) : null);
    }

    public static ClientConfig? Load()
    {
        try
        {
            return JsonSerializer.Deserialize<ClientConfig>(File.ReadAllText(FilePath), Api.ApiJson.Options);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes the file readable by its owner only: it holds an admin token.</summary>
    public void Save()
    {
        var path = FilePath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Api.ApiJson.Options));
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: true);
    }
}
