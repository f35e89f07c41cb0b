using System.Diagnostics;
using Flotilla.Controllers.Rollouts;
using Flotilla.Hosting;
using Flotilla.Store;
using Flotilla.Tests.Support;
using Xunit.Abstractions;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// An apply builds its artifacts outside the control plane's lock: a release abort, or another
/// change, does not wait seconds for an unrelated service's <c>dotnet publish</c>, and what was
/// recorded meanwhile is checked before the built apply records its revision.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class SlowBuildTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");
    private readonly TempDirectory _dir = new("flotilla-slowbuild");
    private ControlPlane _plane = null!;

    public async Task InitializeAsync()
    {
        // A real project whose build takes seconds longer than any of these changes should wait.
        _dir.Write("slow/Slow.csproj", """
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <Target Name="TakeYourTime" BeforeTargets="Build"><Exec Command="sleep 6" /></Target>
            </Project>
            """);
        _dir.Write("slow/Program.cs", """
            var app = WebApplication.CreateBuilder(args).Build();
            app.MapGet("/", () => "slow");
            app.Run();
            """);
        _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")));
    }

    public async Task DisposeAsync()
    {
        await _plane.StopDataPlaneAsync();
        await _plane.DisposeAsync();
        Assert.Empty(ProcessScan.Mentioning(_dir.Path));
        _dir.Dispose();
    }

    private ApplyRequest Request(string version, bool withSlow, long? basedOn = null)
    {
        var slow = withSlow ? $"\n  slow:\n    build: {Path.Combine(_dir.Path, "slow")}\n" : "";
        var yaml = $$"""
            name: slow-build
            services:
              reviews:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Reviews}}
                instances: 2
                http: { health: /healthz, ready: /ready }
                env: { REVIEWS_VERSION: "{{version}}" }
                rollout:
                  strategy: canary
                  steps: [{ weight: 20 }, { pause: {} }]
            """ + slow;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        return new ApplyRequest(yaml, file, null, basedOn, "test");
    }

    /// <summary>Starts an apply that adds the slow service; returns once its <c>dotnet publish</c> runs.</summary>
    private async Task<Task<ApplyResult>> StartSlowApplyAsync(ApplyRequest request)
    {
        var publishing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var applying = _plane.ApplyAsync(request, m =>
        {
            if (m.StartsWith("slow: publishing", StringComparison.Ordinal))
            {
                publishing.TrySetResult();
            }
        });
        await Task.WhenAny(publishing.Task, applying).WaitAsync(Wait);
        Assert.False(applying.IsCompleted, $"the slow apply ended before its build ran: {applying.Exception?.InnerException?.Message}");
        return applying;
    }

    [Fact]
    public async Task AnAbort_LandsWithoutWaitingForAnotherServicesBuild()
    {
        await _plane.ApplyAsync(Request("1.0.0", withSlow: false)).WaitAsync(Wait);
        await _plane.WaitUntilConvergedAsync(Wait);
        await _plane.ApplyAsync(Request("2.0.0", withSlow: false)).WaitAsync(Wait);
        await Eventually.Until(() => _plane.Rollout("reviews").Release is { Phase: ReleasePhase.Paused, Weight: 20 }, Wait, "the canary paused at 20%");
        await Eventually.Until(() => _plane.Routes.SplitsOrEmpty.GetValueOrDefault("reviews") is { Weight: 20 }, Wait, "the router to send 20% to the canary");

        var applying = await StartSlowApplyAsync(Request("2.0.0", withSlow: true));
        var clock = Stopwatch.StartNew();
        var aborted = await _plane.AbortReleaseAsync("reviews", "test").WaitAsync(Wait);
        await Eventually.Until(() => _plane.Routes.SplitsOrEmpty.GetValueOrDefault("reviews") is null or { Weight: 0 }, Wait, "the router to take the canary out");
        var landed = clock.Elapsed;
        var buildStillRunning = !applying.IsCompleted;
        output.WriteLine($"abort landed in the router {landed.TotalMilliseconds:0} ms after it was asked for, while a build ran: {buildStillRunning}");

        Assert.Equal((ReleasePhase.Aborted, 0), (aborted.Phase, aborted.Weight));
        // Waiting for the build would take over 6 s (its sleep); not waiting, it lands well under a second on a quiet machine.
        Assert.True(landed < TimeSpan.FromSeconds(3), $"the abort took {landed.TotalMilliseconds:0} ms to reach the router while another service built");
        Assert.True(buildStillRunning, "the build had ended before the abort landed: this test measured nothing");
        // The build then finishes and its apply records a revision as always.
        var applied = await applying.WaitAsync(Wait);
        Assert.False(applied.Unchanged);
        Assert.NotNull(_plane.State.Find("slow"));
        Assert.Contains("slow", _plane.Endpoints.Keys);
    }

    [Fact]
    public async Task ARevisionRecordedDuringABuild_MakesTheBuiltApplyStale_AndItChangesNothing()
    {
        var first = await _plane.ApplyAsync(Request("1.0.0", withSlow: false)).WaitAsync(Wait);
        var applying = await StartSlowApplyAsync(Request("1.0.0", withSlow: true, basedOn: first.Revision.Number));

        // Another apply records meanwhile, without waiting for that build.
        var clock = Stopwatch.StartNew();
        var other = await _plane.ApplyAsync(Request("1.0.1", withSlow: false, basedOn: first.Revision.Number)).WaitAsync(Wait);
        var took = clock.Elapsed;
        output.WriteLine($"an apply without a build recorded in {took.TotalMilliseconds:0} ms while another apply built");
        Assert.True(took < TimeSpan.FromSeconds(3), $"the apply took {took.TotalMilliseconds:0} ms while another one built");
        Assert.False(applying.IsCompleted, "the build had ended before the other apply recorded: this test measured nothing");

        var stale = await Assert.ThrowsAsync<StaleRevisionException>(() => applying.WaitAsync(Wait));
        Assert.Equal((first.Revision.Number, other.Revision.Number), (stale.Expected, stale.Current));
        Assert.Equal(other.Revision.Number, _plane.Store.LatestRevisionNumber);
        Assert.Null(_plane.State.Find("slow"));
        Assert.DoesNotContain("slow", _plane.Endpoints.Keys);
    }
}
