using Flotilla.Kubernetes;
using Flotilla.Runtime;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;
using k8s;
using k8s.Models;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// Render and apply against a real cluster (FLOTILLA_TEST_KUBECONTEXT): the API server accepts every
/// object, the service's pods become ready through the rendered probes, and a second apply of the
/// same spec changes nothing; and the Kubernetes runtime driver there (a ReplicaSet made, scaled up,
/// the drained pod the one removed). Needs a cluster that can pull python:3.12-alpine. Never run where
/// these tests were written (no cluster there): see the README's Kubernetes section.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class RealClusterTests
{
    [KubernetesFact]
    public async Task AppliedSpec_BecomesReady_AndApplyingAgainChangesNothing()
    {
        using var directory = new TempDirectory();
        var name = $"flotilla-e2e-{Guid.NewGuid():N}"[..22];
        var spec = SpecLoader.Load(directory.Write("flotilla.yaml", $$"""
            name: {{name}}
            runtime: docker
            services:
              web:
                image: python:3.12-alpine
                command: [python3, -m, http.server, "${PORT}"]
                instances: 2
                resources: { cpu: 0.1, memory: 64Mi }
            """));
        var manifest = KubernetesRenderer.Render(spec, new KubernetesRenderOptions());
        using var client = new k8s.Kubernetes(KubeconfigContexts.Resolve(null, KubernetesFactAttribute.Context));
        try
        {
            var first = await new KubernetesApplier(client).ApplyAsync(manifest, CancellationToken.None);
            var web = KubernetesRenderTests.Deployment(manifest, "web").Metadata.Name;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
            V1Deployment deployment;
            do
            {
                await Task.Delay(2000);
                deployment = await client.AppsV1.ReadNamespacedDeploymentAsync(web, manifest.Namespace);
            }
            while (deployment.Status?.ReadyReplicas != 2 && DateTime.UtcNow < deadline);
            Assert.True(deployment.Status?.ReadyReplicas == 2, $"deployment {manifest.Namespace}/{web} has {deployment.Status?.ReadyReplicas ?? 0} of 2 ready pods after 5 minutes");

            var second = await new KubernetesApplier(client).ApplyAsync(manifest, CancellationToken.None);
            var unchanged = first.Where(a => a.Kind is "ConfigMap" or "Service" or "PodDisruptionBudget" or "ResourceQuota").ToList();
            Assert.All(unchanged, a => Assert.Equal(a.ResourceVersion, second.Single(s => s.Kind == a.Kind && s.Name == a.Name).ResourceVersion));
        }
        finally
        {
            await client.CoreV1.DeleteNamespaceAsync(manifest.Namespace);
        }
    }

    /// <summary>
    /// The driver against the cluster: two instances get two pods the kubelet calls Ready; the one
    /// stopped is the pod removed. Readiness as Flotilla sees it also needs this machine to reach pod
    /// IPs (a node, or a flat network); where it cannot, the instances stay Starting, and this test
    /// checks the pods and bindings only.
    /// </summary>
    [KubernetesFact]
    public async Task TheDriver_RunsAReplicaSet_AndRemovesTheDrainedPod()
    {
        using var directory = new TempDirectory();
        var ns = $"flotilla-e2e-{Guid.NewGuid():N}"[..22];
        using var client = new k8s.Kubernetes(KubeconfigContexts.Resolve(null, KubernetesFactAttribute.Context));
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        try
        {
            await using var driver = new KubernetesDriver(directory.Path, new KubernetesTarget(KubernetesFactAttribute.Context, null, ns));
            InstanceLaunch Launch(string id) => new(id, "web", "r1", ["python3", "-m", "http.server", "${PORT}"], new Dictionary<string, string>(), 0,
                new HttpSpec(null, null, null), TimeSpan.FromMinutes(2), new ResourcesSpec(0.1, 64 << 20), Runtime: RuntimeKind.Kubernetes, Image: "python:3.12-alpine");
            await driver.PrepareAsync("python:3.12-alpine", CancellationToken.None);
            driver.Start(Launch("web-1"));
            driver.Start(Launch("web-2"));
            async Task<List<V1Pod>> ReadyPods() => (await client.CoreV1.ListNamespacedPodAsync(ns)).Items
                .Where(p => p.Metadata.DeletionTimestamp is null && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true).ToList();
            await Eventually.Until(async () => (await ReadyPods()).Count == 2 && driver.BoundPod("web-1") is not null && driver.BoundPod("web-2") is not null,
                TimeSpan.FromMinutes(5), "two Ready pods bound to web-1 and web-2");
            var drained = driver.BoundPod("web-1")!;
            var kept = driver.BoundPod("web-2")!;

            await driver.StopAsync("web-1", TimeSpan.FromSeconds(10), "test").WaitAsync(TimeSpan.FromMinutes(2));

            var left = (await client.CoreV1.ListNamespacedPodAsync(ns)).Items.Where(p => p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.Name).ToList();
            Assert.Equal([kept], left);
            Assert.DoesNotContain(drained, left);
        }
        finally
        {
            await client.CoreV1.DeleteNamespaceAsync(ns);
        }
    }
}
