using Flotilla.Bench;

var name = args.FirstOrDefault();
return name switch
{
    "selfheal" => await SelfHealBench.RunAsync(args[1..]),
    "router-only" => await RouterOnly.RunAsync(args[1..]),
    "reconcile" => await ReconcileBench.RunAsync(args[1..]),
    "release" => await ReleaseBench.RunAsync(args[1..]),
    "flags" => FlagBench.Run(args[1..]),
    "ofrep-server" => await OfrepServer.RunAsync(args[1..]),
    "disruption" => await DisruptionLoad.RunAsync(args[1..]),
    "start-cost" => await StartCostBench.RunAsync(args[1..]),
    "dashboard" => await DashboardBrowse.RunAsync(args[1..]),
    "coldstart" => await ColdStartBench.RunAsync(args[1..]),
    "cold-start" => await ColdStartVariantsBench.RunAsync(args[1..]),
    "db-migration" => await MigrationBench.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Flotilla.Bench selfheal [--reps N] [--instances N] [--connections N] [--delay-ms N] [--runtime local|docker]");
    Console.Error.WriteLine("       Flotilla.Bench start-cost [--reps N]                   (an instance's start to ready: process vs container)");
    Console.Error.WriteLine("       Flotilla.Bench coldstart [--reps 20] [--burst 500]      (a function from zero: first byte, burst, scale-down; from the repository root)");
    Console.Error.WriteLine("       Flotilla.Bench cold-start [--reps 20] [--variants jit,r2r,aot]   (a .NET function from zero, three ways, beside the same binary by hand; bench/cold-start.sh)");
    Console.Error.WriteLine("       Flotilla.Bench db-migration [ROWS=1000000] [REPS=3]      (a column with a default + backfill: Flotilla's migration runner beside psql)");
    Console.Error.WriteLine("       Flotilla.Bench reconcile [SERVICES=1000] [INSTANCES=5]");
    Console.Error.WriteLine("       Flotilla.Bench release [--reps N] [--connections N] [--router-process PATH/flotilla]   (from the repository root)");
    Console.Error.WriteLine("       Flotilla.Bench router-only PORT BACKEND...");
    Console.Error.WriteLine("       Flotilla.Bench flags [BenchmarkDotNet arguments]        (in-process flag evaluation)");
    Console.Error.WriteLine("       Flotilla.Bench ofrep-server PORT FLAGS.json            (OFREP until stdin closes; bench/flags.sh)");
    Console.Error.WriteLine("       Flotilla.Bench dashboard URL TOKEN [--tabs 4] [--seconds 60]   (dashboards open in Chromium; bench/dashboard.sh)");
    Console.Error.WriteLine("       Flotilla.Bench disruption URL --at SECONDS --run COMMAND [--seconds 12] [--connections 8]   (bench/router-crash.sh)");
    return 2;
}
