using System.CommandLine;
using Flotilla.Cli.Output;
using Flotilla.Kubernetes;
using Flotilla.Runtime.Kubernetes;
using k8s;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla apply --target kubernetes [--context NAME] [--kubeconfig FILE] [-f path] [--env E]</c>:
/// the spec rendered and server-side applied to a cluster by KubernetesClient, with no Flotilla
/// server involved. Without --target, apply goes to a Flotilla server as before.
/// </summary>
internal static class KubernetesApplyCommand
{
    public static void Extend(Command apply, Option<string> file)
    {
        var target = new Option<string?>("--target") { Description = "Apply to another platform directly instead of a Flotilla server: kubernetes" };
        target.AcceptOnlyFromAmong("kubernetes");
        var context = new Option<string?>("--context") { Description = "The kubeconfig context to apply to (with --target kubernetes; default: the current context)" };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "The kubeconfig file (default: KUBECONFIG, then ~/.kube/config, as kubectl)" };
        var registry = new Option<string?>("--registry") { Description = "Registry prefix of the images Flotilla builds for services (with --target kubernetes)" };
        apply.Options.Add(target);
        apply.Options.Add(context);
        apply.Options.Add(kubeconfig);
        apply.Options.Add(registry);
        var toServer = apply.Action!;
        apply.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(target) is null)
            {
                return await ((System.CommandLine.Invocation.AsynchronousCommandLineAction)toServer).InvokeAsync(parse, cancellationToken);
            }
            return await RunAsync(parse.GetValue(file)!, parse.GetValue(ApiCommand.Environment), parse.GetValue(context), parse.GetValue(kubeconfig), parse.GetValue(registry), cancellationToken);
        });
    }

    private static async Task<int> RunAsync(string path, string? environment, string? context, string? kubeconfig, string? registry, CancellationToken cancellationToken)
    {
        if (SpecErrorPrinter.TryLoad(path, environment) is not { } spec)
        {
            return 1;
        }
        SpecErrorPrinter.PrintWarnings(spec.Warnings);
        using var stop = new ShutdownSignal();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop.Token);
        try
        {
            var configuration = KubeconfigContexts.Resolve(kubeconfig, context);
            var manifest = KubernetesRenderer.Render(spec, new KubernetesRenderOptions(registry));
            foreach (var skipped in manifest.Skipped)
            {
                Console.Error.WriteLine($"note: {skipped}");
            }
            using var client = new k8s.Kubernetes(configuration);
            var applied = await new KubernetesApplier(client).ApplyAsync(manifest, linked.Token);
            foreach (var item in applied)
            {
                Console.WriteLine($"{item.Kind.ToLowerInvariant()}/{item.Name} applied{(item.Namespace is null ? "" : $" in {item.Namespace}")}");
            }
            Console.WriteLine($"{applied.Count} objects applied to {configuration.Host} (context {context ?? configuration.CurrentContext}, field manager {KubernetesApplier.FieldManager})");
            foreach (var secret in manifest.RequiredSecrets)
            {
                Console.Error.WriteLine($"needs Secret '{secret.Name}' in namespace {manifest.Namespace} (key '{string.Join("', '", secret.Keys)}')");
            }
            return 0;
        }
        catch (KubernetesApplyException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
