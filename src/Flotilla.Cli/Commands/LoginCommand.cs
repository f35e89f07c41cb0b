using System.CommandLine;
using Flotilla.Api;
using Flotilla.Cli.Client;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla login --server https://... --fingerprint SHA256:... --token flo_...</c>: checks that
/// the server answers with that certificate and token, then saves them as the client config
/// (what kubeconfig's cluster entry holds: URL, pinned trust, credentials).
/// </summary>
internal static class LoginCommand
{
    public static Command Create() =>
        ApiCommand.Create("login", "Check a server (its certificate: --fingerprint or --ca-file; the token) and save it as the client config", async (_, client, _, ct) =>
        {
            var caller = await client.GetAsync<CallerView>("v1/whoami", ct);
            client.Config.Save();
            Console.WriteLine($"logged in to {client.Config.Server} as '{caller.Name}' ({caller.Role}{(caller.Tenant is null ? ", server-wide" : $" of tenant '{caller.Tenant}'")})"
                + (client.Config.Fingerprint is { } pin ? $", certificate pinned {pin}" : client.Config.CaFile is { } ca ? $", certificate checked against {ca}" : "")
                + $"; saved to {ClientConfig.FilePath}");
            return 0;
        });
}
