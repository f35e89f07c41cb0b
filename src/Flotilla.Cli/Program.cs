using System.CommandLine;
using Flotilla.Cli.Commands;
using Spectre.Console;

// Nothing Flotilla inherited passes on to the programs it starts (see InheritedDescriptors).
Flotilla.Runtime.InheritedDescriptors.CloseOnExecAll();

// Piped output (logs, grep, CI) gets one line per row instead of tables wrapped at 80 columns.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 250;
}

var root = new RootCommand("Flotilla: run a system of microservices as many instances, keep them in their declared state, ship without downtime.")
{
    UpCommand.Create(),
    ValidateCommand.Create(),
    RenderCommand.Create(),
    SchemaCommand.Create(),
    ServerCommand.Create(),
    LoginCommand.Create(),
    RouterCommand.Create(),
    RolloutCommand.Create(),
    ParallelCommand.Create(),
    FlagsCommand.Create(),
    GitOpsCommand.Create(),
    QueueCommand.Create(),
    ImageCommand.Create(),
    ClusterCommands.Create(),
};
foreach (var command in ChangeCommands.Create().Concat(InspectCommands.Create()).Concat(EnvironmentCommands.Create()).Concat(ConfigCommands.Create()).Concat(DatabaseCommands.Create()))
{
    root.Subcommands.Add(command);
}
// Ctrl+C is handled by the commands themselves (ShutdownSignal): stopping drains and stops every instance,
// which may take longer than System.CommandLine's default termination timeout.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
