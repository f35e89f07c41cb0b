using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>The CLI driven as a user would: a separate process, its output, Ctrl+C.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class CliTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Spec(int instances) => $$"""
        name: cli-test
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: {{instances}}
            http: { health: /healthz, ready: /ready }
          front:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            dependsOn: [reviews]
            env: { ROLE: front }
        """;

    [Fact]
    public async Task Validate_ReportsEveryErrorWithPosition_AndExitsNonZero()
    {
        using var dir = new TempDirectory("flotilla-cli");
        dir.Write("flotilla.yaml", "name: shop\nservices:\n  api:\n    command: [x]\n    instances: -2\n    dependsOn: [db]\n");
        using var cli = CliProcess.Start("validate", dir.Path);

        Assert.Equal(1, await cli.WaitForExitAsync(Wait));
        Assert.Contains(cli.Lines, l => l.EndsWith("flotilla.yaml:5:16: services.api.instances: must be a whole number of instances (0 to 1000), got -2", StringComparison.Ordinal));
        Assert.Contains(cli.Lines, l => l.Contains("flotilla.yaml:6:17: services.api.dependsOn: unknown service 'db'", StringComparison.Ordinal));
        Assert.Contains("2 errors", cli.Lines);
    }

    [Fact]
    public async Task Validate_ExampleShop_Passes()
    {
        using var cli = CliProcess.Start("validate", Path.Combine(Repository.Root, "examples", "shop"), "--env", "prod");
        Assert.Equal(0, await cli.WaitForExitAsync(Wait));
        Assert.Contains(cli.Lines, l => l.StartsWith("valid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Up_ServesTheSystem_AppliesSpecEdits_AndCtrlC_LeavesNothingBehind()
    {
        using var dir = new TempDirectory("flotilla-cli");
        using var state = new TempDirectory("flotilla-cli-state");
        var specFile = dir.Write("flotilla.yaml", Spec(2));
        using var cli = CliProcess.Start("up", dir.Path, "--state", state.Path);
        int Instances() => ProcessScan.Mentioning(state.Path).Count(pid => pid != cli.Pid);

        await cli.WaitForLine(l => l.StartsWith("ready:", StringComparison.Ordinal), Wait, "the system to be ready");
        var endpoint = cli.Lines.Single(l => l.StartsWith("endpoint front ", StringComparison.Ordinal)).Split(' ')[2];
        using (var client = new HttpClient())
        {
            Assert.Contains("reviews 1.0.0", await client.GetStringAsync(endpoint + "/"), StringComparison.Ordinal);
        }
        Assert.Equal(3, Instances());

        File.WriteAllText(specFile, Spec(4));
        await Eventually.Until(() => Instances() == 5, Wait, "the edited instance count to be applied");
        await cli.WaitForLine(l => l.Contains("applied flotilla.yaml", StringComparison.Ordinal), Wait, "the apply message");

        File.WriteAllText(specFile, "name: cli-test\nservices:\n  reviews: { instances: lots }\n");
        await cli.WaitForLine(l => l.Contains("not applied", StringComparison.Ordinal), Wait, "the rejected edit");
        Assert.Equal(5, Instances());

        cli.Interrupt();
        Assert.Equal(0, await cli.WaitForExitAsync(Wait));
        Assert.Contains("stopped", cli.Lines);
        Assert.Empty(ProcessScan.Mentioning(state.Path));
        Assert.False(Directory.Exists(Path.Combine(state.Path, "instances")));
    }

    [Fact]
    public async Task InstancesLeftByAKilledUp_AreAdoptedByTheNextOne_NotDuplicated()
    {
        using var dir = new TempDirectory("flotilla-cli");
        using var state = new TempDirectory("flotilla-cli-state");
        // The instances outlive a killed up by design; if this test fails half-way, nothing may outlive the test.
        using var cleanup = new Cleanup(() => ProcessScan.Mentioning(state.Path).ToList().ForEach(pid => Posix.SignalGroup(pid, Posix.SIGKILL)));
        dir.Write("flotilla.yaml", Spec(2));
        List<int> orphans;
        using (var first = CliProcess.Start("up", dir.Path, "--state", state.Path))
        {
            await first.WaitForLine(l => l.StartsWith("ready:", StringComparison.Ordinal), Wait, "the system to be ready");
            orphans = ProcessScan.Mentioning(state.Path).Where(p => p != first.Pid).ToList();
            Assert.Equal(3, orphans.Count);
            Posix.Signal(first.Pid, Posix.SIGKILL);
            await first.WaitForExitAsync(Wait);
        }
        Assert.All(orphans, pid => Assert.True(Posix.IsAlive(pid), $"pid {pid} should outlive the killed Flotilla"));

        using var second = CliProcess.Start("up", dir.Path, "--state", state.Path);
        await second.WaitForLine(l => l.StartsWith("ready:", StringComparison.Ordinal), Wait, "the system to be ready again");
        Assert.Contains("adopted 3 instances left running by an earlier Flotilla", second.Output, StringComparison.Ordinal);
        Assert.Contains("revision 1 (unchanged)", second.Lines);
        // The very same processes serve on: none restarted, none duplicated.
        Assert.Equal(orphans.Order(), ProcessScan.Mentioning(state.Path).Where(p => p != second.Pid).Order());
        var endpoint = second.Lines.Single(l => l.StartsWith("endpoint front ", StringComparison.Ordinal)).Split(' ')[2];
        using (var client = new HttpClient())
        {
            Assert.Contains("reviews 1.0.0", await client.GetStringAsync(endpoint + "/"), StringComparison.Ordinal);
        }

        second.Interrupt();
        Assert.Equal(0, await second.WaitForExitAsync(Wait));
        Assert.Empty(ProcessScan.Mentioning(state.Path));
    }

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
