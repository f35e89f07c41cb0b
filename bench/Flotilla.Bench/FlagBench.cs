using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Flotilla.Flags;

namespace Flotilla.Bench;

/// <summary>
/// In-process flag evaluation (BenchmarkDotNet): a static flag, a flag with a three-condition
/// targeting rule, a fractional split, and an OFREP request body parsed then evaluated.
/// </summary>
[MemoryDiagnoser]
public class FlagBench
{
    private const string Document = """
        {"flags": {
          "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
          "targeted": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
            "targeting": {"if": [{"and": [
                {"in": [{"var": "country"}, ["NL", "BE", "LU"]]},
                {"sem_ver": [{"var": "appVersion"}, ">=", "2.1.0"]},
                {"ends_with": [{"var": "email"}, "@shop.example"]}]}, "on", "off"]}},
          "fractional": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
            "targeting": {"fractional": [["on", 20], ["off", 80]]}}}}
        """;

    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"context": {"targetingKey": "user-4711", "country": "NL", "appVersion": "2.3.1", "email": "ann@shop.example"}}""");
    private FlagSet _flags = FlagSet.Empty;
    private EvaluationContext _context = EvaluationContext.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _flags = FlagDocument.CompileServed(Document);
        EvaluationContext.TryParseRequest(Body, out _context, out _);
        if (_flags.Evaluate("targeted", _context).Variant != "on" || _flags.Evaluate("fractional", _context).ErrorCode is not null)
        {
            throw new InvalidOperationException("the benchmark's flags do not evaluate as intended");
        }
    }

    [Benchmark(Baseline = true)]
    public FlagResolution Static() => _flags.Evaluate("static", _context, 0);

    [Benchmark]
    public FlagResolution TargetingThreeConditions() => _flags.Evaluate("targeted", _context, 0);

    [Benchmark]
    public FlagResolution Fractional() => _flags.Evaluate("fractional", _context, 0);

    [Benchmark]
    public FlagResolution ParseOfrepBodyThenTargeting()
    {
        EvaluationContext.TryParseRequest(Body, out var context, out _);
        return _flags.Evaluate("targeted", context, 0);
    }

    public static int Run(string[] args)
    {
        var config = DefaultConfig.Instance
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromTypes([typeof(FlagBench)]).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
        return 0;
    }
}
