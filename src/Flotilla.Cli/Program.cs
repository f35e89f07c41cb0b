using System.CommandLine;
using Flotilla.Cli.Commands;

var root = new RootCommand("Flotilla: run a system of microservices as many instances, keep them in their declared state, ship without downtime.")
{
    UpCommand.Create(),
    ValidateCommand.Create(),
    SchemaCommand.Create(),
    ServerCommand.Create(),
    RouterCommand.Create(),
};
foreach (var command in ChangeCommands.Create().Concat(InspectCommands.Create()))
{
    root.Subcommands.Add(command);
}
// Ctrl+C is handled by the commands themselves (ShutdownSignal): stopping drains and stops every instance,
// which may take longer than System.CommandLine's default termination timeout.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
