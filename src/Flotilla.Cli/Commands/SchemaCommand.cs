using System.CommandLine;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla schema</c>: prints the JSON Schema of flotilla.yaml, for editors.</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var command = new Command("schema", "Print the JSON Schema of flotilla.yaml (for editor completion and checks)");
        command.SetAction(_ =>
        {
            using var stream = typeof(Model.SpecLoader).Assembly.GetManifestResourceStream("flotilla.schema.json")!;
            using var reader = new StreamReader(stream);
            Console.Out.Write(reader.ReadToEnd());
            return 0;
        });
        return command;
    }
}
