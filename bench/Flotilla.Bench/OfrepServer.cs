using Flotilla.Router;

namespace Flotilla.Bench;

/// <summary>The router's flag port alone, serving a flag file over OFREP until stdin closes (bench/flags.sh drives it with hey).</summary>
internal static class OfrepServer
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || !int.TryParse(args[0], out var port))
        {
            Console.Error.WriteLine("usage: Flotilla.Bench ofrep-server PORT FLAGS.json");
            return 2;
        }
        await using var router = new RouterHost();
        // At the root, as flagd serves beside it in the bench (an access key costs one string compare).
        await router.ServeFlagsAsync(port, Model.FlagFile.Compile(Model.FlagFile.Read(Path.GetFullPath(args[1]))).Document, null);
        Console.WriteLine($"OFREP on http://127.0.0.1:{port}");
        await Console.In.ReadToEndAsync();
        return 0;
    }
}
