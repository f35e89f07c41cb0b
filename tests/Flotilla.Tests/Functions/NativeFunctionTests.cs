using System.Net;
using Flotilla.Artifacts;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>
/// A <c>build:</c> function published as Native AOT leaves a native executable named after the project
/// and no runtimeconfig. Real AOT compiles for minutes on these machines (bench/cold-start.sh does it), so
/// this project's Publish target leaves the same shape: an executable (a shell script serving HTTP).
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class NativeFunctionTests
{
    private static string Project(TempDirectory dir, string executable) =>
        dir.Write("Native/Native.csproj", $"""
            <Project>
              <Target Name="Restore" />
              <Target Name="Publish">
                <Exec Command="mkdir -p $(PublishDir) &amp;&amp; cp app.sh $(PublishDir)/{executable} &amp;&amp; chmod +x $(PublishDir)/{executable}" />
              </Target>
            </Project>
            """);

    private static string Spec(string project) => $$"""
        name: native
        functions:
          fn:
            build: {{project}}
            trigger: { http: / }
            scale: { min: 0, idle: 30s }
        """;

    [Fact]
    public async Task ANativeExecutable_IsRunDirectly_AndAnswersFromZero()
    {
        using var dir = new TempDirectory("flotilla-native");
        dir.Write("Native/app.sh", "#!/bin/sh\nexec python3 -m http.server --bind 127.0.0.1 \"$PORT\"\n");
        var project = Project(dir, "Native");
        var file = dir.Write("flotilla.yaml", Spec(project));
        var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));
        try
        {
            await plane.ApplyAsync(new ApplyRequest(File.ReadAllText(file), file, null, null, "test"));
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            using var response = await client.GetAsync(plane.Status().Services.Single().Endpoint + "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.Contains("X-Flotilla-Cold-Start"));
            var instance = Assert.Single(plane.Status().Services.Single().Instances, i => i.ReadySince is not null);
            Assert.Contains(Path.Combine("artifacts", "fn-"), File.ReadAllText(instance.LogPath!), StringComparison.Ordinal);
        }
        finally
        {
            await plane.StopDataPlaneAsync();
            await plane.DisposeAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(dir.Path));
    }

    [Fact]
    public async Task AnOutputWithNeitherRuntimeconfigNorExecutable_IsABuildError_ThatSaysWhatToDo()
    {
        using var dir = new TempDirectory("flotilla-native");
        dir.Write("Native/app.sh", "#!/bin/sh\n");
        var project = Project(dir, "Elsewhere");
        var file = dir.Write("flotilla.yaml", Spec(project));
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));
        var error = await Assert.ThrowsAsync<ArtifactBuildException>(() => plane.ApplyAsync(new ApplyRequest(File.ReadAllText(file), file, null, null, "test")));
        Assert.Contains("0 runtimeconfig files and no native executable named after Native.csproj", error.Message, StringComparison.Ordinal);
        Assert.Contains("set its AssemblyName to the project's name", error.Message, StringComparison.Ordinal);
    }
}
