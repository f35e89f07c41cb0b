using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>The <c>functions:</c> section: read into typed specs, and every mistake named by file, line and column.</summary>
public sealed class FunctionSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public FunctionSpecTests() => _dir.Write("fn/app.py", "print('hi')");

    public void Dispose() => _dir.Dispose();

    private SystemSpec Parse(string yaml) => SpecLoader.Parse(yaml, Path.Combine(_dir.Path, "flotilla.yaml"));

    private IReadOnlyList<SpecError> Errors(string yaml) => Assert.Throws<SpecException>(() => Parse(yaml)).Errors;

    private static void AssertError(IReadOnlyList<SpecError> errors, int line, int column, string path, string fragment) =>
        Assert.True(errors.Any(e => e.At.Line == line && e.At.Column == column && e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal)),
            $"no error at {line}:{column} {path} containing '{fragment}'; got: {string.Join(" | ", errors.Select(e => $"{e.At.Line}:{e.At.Column} {e.Path}: {e.Message}"))}");

    [Fact]
    public void Function_IsReadWithItsTriggerScaleTimeoutAndMemory_AndRunsScaleMinInstances()
    {
        var spec = Parse("""
            name: shop
            functions:
              thumbnail:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: fn
                trigger: { http: /thumbnail/ }
                scale: { min: 1, max: 5, concurrency: 4, idle: 90s }
                timeout: 3s
                memory: 512Mi
                hold: { pending: 20, budget: 5s }
            """);
        var function = Assert.Single(spec.Services);
        Assert.Equal("thumbnail", function.Name);
        Assert.Equal(1, function.Instances);
        Assert.Equal(new FunctionSpec(new FunctionTrigger("/thumbnail"), new FunctionScale(1, 5, 4, TimeSpan.FromSeconds(90)), TimeSpan.FromSeconds(3), new FunctionHold(20, TimeSpan.FromSeconds(5))), function.Function);
        Assert.Equal(512L << 20, function.Resources!.MemoryBytes);
        Assert.Equal(0.29, function.Resources.Cpu);
    }

    [Fact]
    public void Defaults_AreScaleToZero_TenPerInstance_ThirtySecondTimeout()
    {
        var spec = Parse("""
            name: shop
            services:
              api: { command: [python3, "${ARTIFACT}/app.py"], files: fn }
            functions:
              hook: { command: [python3, "${ARTIFACT}/app.py"], files: fn, trigger: { http: / } }
            """);
        var hook = spec.Find("hook")!;
        Assert.Equal(0, hook.Instances);
        Assert.Equal(FunctionScale.Default, hook.Function!.Scale);
        Assert.Equal(FunctionSpec.DefaultTimeout, hook.Function.Timeout);
        Assert.Null(spec.Find("api")!.Function);
    }

    [Fact]
    public void Mistakes_AreNamedWithFileLineAndColumn()
    {
        var errors = Errors("""
            name: shop
            functions:
              a:
                command: [x]
                trigger: { http: thumbnail }
                scale: { min: 3, max: 2, concurency: 4 }
                instances: 2
              b:
                command: [x]
                trigger: { schedule: "* * *" }
              c:
                command: [x]
              d:
                command: [x]
                trigger: { http: /d }
                timeout: soon
                memory: lots
            """);
        AssertError(errors, 5, 22, "functions.a.trigger.http", "'thumbnail' is not a path");
        AssertError(errors, 6, 19, "functions.a.scale.min", "min (3) is above max (2)");
        AssertError(errors, 6, 30, "functions.a.scale.concurency", "did you mean 'concurrency'?");
        AssertError(errors, 7, 5, "functions.a.instances", "unknown key 'instances'");
        AssertError(errors, 10, 26, "functions.b.trigger.schedule", "'* * *' is not a cron expression");
        AssertError(errors, 12, 5, "functions.c.trigger", "missing");
        AssertError(errors, 16, 14, "functions.d.timeout", "must be");
        AssertError(errors, 17, 13, "functions.d.memory", "256Mi");
    }

    [Fact]
    public void AFunction_NamedAsAService_IsRefused()
    {
        var errors = Errors("""
            name: shop
            functions:
              api: { command: [x], trigger: { http: / } }
            services:
              api: { command: [x] }
            """);
        Assert.Contains(errors, e => e.Path == "functions.api" && e.Message.Contains("already a service", StringComparison.Ordinal));
    }

    [Fact]
    public void ScheduleAndFilesTriggers_AreRead_InBothForms()
    {
        _dir.Write("inbox/.keep", "");
        var spec = Parse("""
            name: shop
            functions:
              nightly: { command: [x], files: fn, trigger: { schedule: "*/5 * * * *" } }
              paris: { command: [x], files: fn, trigger: { schedule: { cron: "0 3 * * *", timeZone: Europe/Paris, startingDeadline: 10m } } }
              ingest: { command: [x], files: fn, trigger: { files: inbox/ } }
              replace: { command: [x], files: fn, trigger: { schedule: { cron: "* * * * *", concurrencyPolicy: Replace } } }
              slow: { command: [x], files: fn, trigger: { files: { directory: inbox, settle: 3s } } }
            """);
        Assert.Equal(new ScheduleTrigger("*/5 * * * *"), spec.Find("nightly")!.Function!.Trigger.Schedule);
        Assert.Equal("nightly.schedule", spec.Find("nightly")!.Function!.Trigger.DeliveryQueue("nightly"));
        Assert.Equal(new ScheduleTrigger("0 3 * * *", "Europe/Paris", TimeSpan.FromMinutes(10)), spec.Find("paris")!.Function!.Trigger.Schedule);
        Assert.Equal(ConcurrencyPolicy.Forbid, spec.Find("nightly")!.Function!.Trigger.Schedule!.Concurrency);
        Assert.Equal(new ScheduleTrigger("* * * * *", Concurrency: ConcurrencyPolicy.Replace), spec.Find("replace")!.Function!.Trigger.Schedule);
        Assert.Equal(new FileTrigger(Path.Combine(_dir.Path, "inbox"), FileTrigger.DefaultSettle), spec.Find("ingest")!.Function!.Trigger.Files);
        Assert.Equal("ingest.files", spec.Find("ingest")!.Function!.Trigger.DeliveryQueue("ingest"));
        Assert.Equal(new FileTrigger(Path.Combine(_dir.Path, "inbox"), TimeSpan.FromSeconds(3)), spec.Find("slow")!.Function!.Trigger.Files);
        Assert.Null(spec.Find("slow")!.Function!.Trigger.Http);
    }

    [Fact]
    public void ScheduleAndFilesMistakes_AreNamedWithFileLineAndColumn()
    {
        var errors = Errors("""
            name: shop
            functions:
              a: { command: [x], trigger: { schedule: "61 * * * *" } }
              b: { command: [x], trigger: { schedule: { cron: "0 3 * * *", timeZone: Mars/Olympus } } }
              c: { command: [x], trigger: { files: nowhere/ } }
              d: { command: [x], trigger: { schedule: "* * * * *", http: /d } }
              e: { command: [x], trigger: { schedule: { timeZone: UTC } } }
              f: { command: [x], trigger: { files: { settle: 2s } } }
              g: { command: [x], trigger: { schedule: { cron: "* * * * *", concurrencyPolicy: Replase } } }
            """);
        AssertError(errors, 3, 43, "functions.a.trigger.schedule", "'61 * * * *' is not a cron expression");
        AssertError(errors, 4, 74, "functions.b.trigger.schedule.timeZone", "'Mars/Olympus' is not a time zone");
        AssertError(errors, 5, 40, "functions.c.trigger.files", "'nowhere/' is not a directory");
        AssertError(errors, 6, 31, "functions.d.trigger", "a function has one trigger");
        AssertError(errors, 7, 43, "functions.e.trigger.schedule.cron", "missing");
        AssertError(errors, 8, 40, "functions.f.trigger.files.directory", "missing");
        AssertError(errors, 9, 83, "functions.g.trigger.schedule.concurrencyPolicy", "'Replase' is not a concurrency policy: give Forbid (skip an occurrence while the previous run is unfinished, the default), Allow (run beside it) or Replace (stop it and run the new one) (did you mean 'Replace'?)");
    }
}
