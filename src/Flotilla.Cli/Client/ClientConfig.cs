using System.Text.Json;

namespace Flotilla.Cli.Client;

/// <summary>
/// Where the CLI finds its server and token, the way kubectl does: flags first, then
/// FLOTILLA_SERVER / FLOTILLA_TOKEN, then the config file that <c>flotilla server</c> writes
/// ($FLOTILLA_CONFIG, default ~/.config/flotilla/config.json).
/// </summary>
internal sealed record ClientConfig(string? Server, string? Token)
{
    public static string FilePath => Environment.GetEnvironmentVariable("FLOTILLA_CONFIG") is { Length: > 0 } path
        ? path
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "flotilla", "config.json");

    public static ClientConfig Resolve(string? server, string? token)
    {
        var file = Load();
        return new ClientConfig(
            server ?? Environment.GetEnvironmentVariable("FLOTILLA_SERVER") ?? file?.Server,
            token ?? Environment.GetEnvironmentVariable("FLOTILLA_TOKEN") ?? file?.Token);
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
