using System.CommandLine;
using Flotilla.Cli.Client;

namespace Flotilla.Cli.Commands;

/// <summary>
/// The frame of every verb that talks to a server: --server, --token, the server's certificate (--fingerprint, --ca-file) and -o, one client,
/// and an API refusal printed as an error (exit 1) rather than a stack trace.
/// </summary>
internal static class ApiCommand
{
    public static readonly Option<string?> Server = new("--server") { Description = "The server's URL (default: FLOTILLA_SERVER, then the config file)", Recursive = true };
    public static readonly Option<string?> Token = new("--token") { Description = "The bearer token (default: FLOTILLA_TOKEN, then the config file)", Recursive = true };
    public static readonly Option<string?> Fingerprint = new("--fingerprint") { Description = "The SHA-256 fingerprint the server's certificate must have, as 'flotilla server' prints it (default: FLOTILLA_FINGERPRINT, then the config file's, for its server)", Recursive = true };
    public static readonly Option<string?> CaFile = new("--ca-file") { Description = "A PEM file of the CA the server's certificate must chain to (default: FLOTILLA_CA_FILE, then the config file's, for its server)", Recursive = true };
    public static readonly Option<string?> Environment = new("--env", "-e") { Description = "The environment to act on (the server runs each side by side; default: its first)", Recursive = true };
    public static readonly Option<string?> Cluster = new("--cluster") { Description = "In an environment over clusters: the cluster to act on (see 'flotilla clusters')", Recursive = true };
    public static readonly Option<string?> Tenant = new("--tenant") { Description = "The tenant to act in, for a server-wide token (a tenant's token acts in its own; default: default)", Recursive = true };
    public static readonly Option<string> Output = new("--output", "-o") { Description = "Output format: table (for people) or json (for scripts)", DefaultValueFactory = _ => "table", Recursive = true };

    static ApiCommand() => Output.AcceptOnlyFromAmong("table", "json");

    public static Command Create(string name, string description, Func<ParseResult, ApiClient, bool, CancellationToken, Task<int>> action, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Option option:
                    command.Options.Add(option);
                    break;
            }
        }
        command.Options.Add(Server);
        command.Options.Add(Token);
        command.Options.Add(Fingerprint);
        command.Options.Add(CaFile);
        command.Options.Add(Environment);
        command.Options.Add(Tenant);
        command.Options.Add(Cluster);
        command.Options.Add(Output);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, action, cancellationToken));
        return command;
    }

    public static async Task<int> RunAsync(ParseResult parse, Func<ParseResult, ApiClient, bool, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        using var stop = new ShutdownSignal();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop.Token);
        try
        {
            using var client = new ApiClient(ClientConfig.Resolve(parse.GetValue(Server), parse.GetValue(Token), parse.GetValue(Fingerprint), parse.GetValue(CaFile)), parse.GetValue(Environment), parse.GetValue(Tenant), parse.GetValue(Cluster));
            return await action(parse, client, parse.GetValue(Output) == "json", linked.Token);
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (e.Detail is not null)
            {
                Console.Error.WriteLine($"  {e.Detail}");
            }
            foreach (var error in e.Errors)
            {
                Console.Error.WriteLine($"  {error}");
            }
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
    }
}
