using System.Text.Json.Nodes;
using Flotilla.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;
using k8s.Models;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// The router as rendered for a cluster, where no control plane feeds it: it starts from the state in its
/// ConfigMap (<c>flotilla router --state</c>) and serves it before its first request. Here the real
/// router process runs that state with its hosts pointed at a backend on this machine.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class RenderedRouterTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public void TheRouterDeployment_StartsFromItsConfigMap_AndEachServiceGoesToItsService()
    {
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop, "prod"), KubernetesSpecs.Options);
        var state = RouterState(manifest);
        var router = manifest.Objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == KubernetesNames.RouterName);
        var container = router.Spec.Template.Spec.Containers.Single();

        Assert.Equal(["--bind", "0.0.0.0", "--state", "/etc/flotilla-router/router-state.json"], container.Command.Skip(container.Command.IndexOf("--bind")));
        Assert.Contains(container.VolumeMounts, m => m.MountPath == "/etc/flotilla-router" && m.ReadOnlyProperty == true);
        Assert.Equal(RouterObjectsDigest(manifest), router.Spec.Template.Metadata.Annotations["flotilla.io/router-state"]);
        foreach (var service in manifest.Objects.OfType<V1Service>().Where(s => s.Metadata.Name != KubernetesNames.RouterName))
        {
            // A ClusterIP Service (kube-proxy balances over every revision's ready pods), and the router sends there by its short name.
            Assert.Null(service.Spec.ClusterIP);
            var destination = Assert.Single(state["table"]!["services"]![service.Metadata.Name]!.AsArray());
            Assert.Equal((service.Metadata.Name, 8080), ((string)destination!["host"]!, (int)destination["port"]!));
            Assert.True((int)state["endpoints"]![service.Metadata.Name]! > 0);
        }
    }

    [Fact]
    public async Task TheRenderedState_IsServedByARealRouter_BeforeAnythingFeedsIt()
    {
        using var directory = new TempDirectory("flotilla-rendered-router");
        await using var backend = await TestBackend.StartAsync("orders");
        var state = RouterState(KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop, "prod"), KubernetesSpecs.Options));
        // The cluster's names and ports made this machine's: the orders Service is the backend, its endpoint a free port.
        var port = Flotilla.Net.PortAllocator.Next();
        state["endpoints"] = new JsonObject { ["orders"] = port };
        var orders = state["table"]!["services"]!["orders"]![0]!;
        orders["host"] = "127.0.0.1";
        orders["port"] = backend.Port;
        state["table"]!["services"] = new JsonObject { ["orders"] = new JsonArray(orders.DeepClone()) };
        var file = directory.Write("router-state.json", state.ToJsonString());

        await using var router = new NodeRouter("127.0.0.1", extra: ["--state", file]);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var answer = "";
        await Eventually.Until(async () =>
        {
            try
            {
                answer = await client.GetStringAsync(router.Url(port));
                return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, Wait, $"the router to serve port {port} from its state (its output is in router.out of its directory)");
        Assert.Contains("orders", answer, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ not json", "cannot read the router state")]
    [InlineData("{\"endpoints\":{\"orders\":0},\"table\":{\"services\":{}}}", "endpoint 'orders' has port 0, not 1-65535")]
    [InlineData("{\"endpoints\":{},\"table\":{\"services\":{\"orders\":[{\"instanceId\":\"a\",\"port\":8080,\"host\":\"\"}]}}}", "service 'orders' has a destination without a host")]
    [InlineData("{}", "it has no 'endpoints' and 'table'")]
    [InlineData("{\"endpoints\":{}}", "it has no 'endpoints' and 'table'")]
    [InlineData("{\"endpoints\":{},\"table\":{\"services\":{\"orders\":null}}}", "service 'orders' has no list of destinations")]
    public async Task AStateThatCannotBeServed_IsRefused_AndTheRouterDoesNotStart(string text, string expected)
    {
        using var directory = new TempDirectory("flotilla-rendered-router");
        var file = directory.Write("bad.json", text);
        var env = new Dictionary<string, string> { [Flotilla.Router.Remote.RouterAdmin.SecretVariable] = "s3cret" };

        using var cli = CliProcess.Start(env, "router", "--admin-port", Flotilla.Net.PortAllocator.Next().ToString(System.Globalization.CultureInfo.InvariantCulture), "--state", file);
        var code = await cli.WaitForExitAsync(Wait);

        Assert.Equal(2, code);
        Assert.Contains(expected, cli.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "router-state.json")), "a refused state was written where the router would read it");
    }

    private static JsonObject RouterState(KubernetesManifest manifest) =>
        JsonNode.Parse(manifest.Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == KubernetesNames.RouterName).Data["router-state.json"])!.AsObject();

    private static string RouterObjectsDigest(KubernetesManifest manifest) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            manifest.Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == KubernetesNames.RouterName).Data["router-state.json"])))[..12];
}
