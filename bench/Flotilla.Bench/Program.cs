using Flotilla.Bench;

var name = args.FirstOrDefault();
return name switch
{
    "selfheal" => await SelfHealBench.RunAsync(args[1..]),
    "router-only" => await RouterOnly.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Flotilla.Bench selfheal [--reps N] [--instances N] [--connections N] [--delay-ms N]");
    return 2;
}
