using Flotilla.Kubernetes;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;
using k8s;
using k8s.Models;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// Render and apply against a real cluster (FLOTILLA_TEST_KUBECONTEXT): the API server accepts every
/// object, the service's pods become ready through the rendered probes, and a second apply of the
/// same spec changes nothing. Needs a cluster that can pull python:3.12-alpine. Never run where
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
}
