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
                trigger: { schedule: "* * * * *" }
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
        AssertError(errors, 10, 16, "functions.b.trigger.schedule", "not served yet");
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
}
