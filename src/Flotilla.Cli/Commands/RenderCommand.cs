using System.CommandLine;
using Flotilla.Cli.Output;
using Flotilla.Kubernetes;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla render --target kubernetes [path] [--env E] [-o DIR] [--helm]</c>: the spec as
/// Kubernetes objects, with no cluster and no external tool. Without -o the YAML goes to stdout.
/// </summary>
internal static class RenderCommand
{
    public static Command Create()
    {
        var path = CommonOptions.SpecPath();
        var env = CommonOptions.Environment();
        var target = new Option<string>("--target") { Description = "What to render for: kubernetes", Required = true };
        target.AcceptOnlyFromAmong("kubernetes");
        var output = new Option<string?>("--output", "-o") { Description = "A directory to write into (one file per object, or the chart with --helm); default: YAML on stdout" };
        var helm = new Option<bool>("--helm") { Description = "Write a Helm chart (Chart.yaml, values.yaml, templates/) that installs the same objects" };
        var chartVersion = new Option<string>("--chart-version") { Description = "The chart's version (with --helm)", DefaultValueFactory = _ => "0.1.0" };
        var registry = new Option<string?>("--registry") { Description = "Registry prefix of the images Flotilla builds for services (e.g. registry.example.com/shop)" };
        var tenant = new Option<string?>("--tenant") { Description = "The tenant whose system this is: its namespace is TENANT-SYSTEM[-ENV], labelled flotilla.io/tenant" };
        var includeSecrets = new Option<bool>("--include-secrets") { Description = "Render the Secrets of 'file:' secrets with their values (files written 0600); otherwise no value is ever rendered" };
        var routerImage = new Option<string>("--router-image") { Description = "The image that runs Flotilla's router", DefaultValueFactory = _ => KubernetesRenderOptions.DefaultRouterImage };
        var command = new Command("render", "Write a spec as the objects of another platform (Kubernetes manifests or a Helm chart), without a cluster")
        {
            path, env, target, output, helm, chartVersion, registry, routerImage, tenant, includeSecrets,
        };
        command.SetAction(parse =>
        {
            if (SpecErrorPrinter.TryLoad(parse.GetValue(path)!, parse.GetValue(env)) is not { } spec)
            {
                return 1;
            }
            SpecErrorPrinter.PrintWarnings(spec.Warnings);
            KubernetesManifest manifest;
            try
            {
                manifest = KubernetesRenderer.Render(spec, new KubernetesRenderOptions(parse.GetValue(registry), parse.GetValue(routerImage)!, Tenant: parse.GetValue(tenant), IncludeSecrets: parse.GetValue(includeSecrets)));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            foreach (var skipped in manifest.Skipped)
            {
                Console.Error.WriteLine($"note: {skipped}");
            }
            var directory = parse.GetValue(output);
            if (parse.GetValue(helm))
            {
                if (directory is null)
                {
                    Console.Error.WriteLine("error: --helm writes a chart (several files): name its directory with -o DIR");
                    return 2;
                }
                HelmChart.Write(spec, manifest, parse.GetValue(chartVersion)!, directory);
                Console.Error.WriteLine($"chart '{spec.Name}' {parse.GetValue(chartVersion)} written to {directory} ({manifest.Objects.Count} objects, namespace {manifest.Namespace})");
            }
            else if (directory is not null)
            {
                var files = ManifestYaml.WriteDirectory(manifest, directory);
                Console.Error.WriteLine($"{files.Count} objects written to {directory} (namespace {manifest.Namespace})");
            }
            else
            {
                Console.Out.Write(ManifestYaml.Stream(manifest));
            }
            foreach (var secret in manifest.RequiredSecrets)
            {
                Console.Error.WriteLine($"needs Secret '{secret.Name}' in namespace {manifest.Namespace} (key '{string.Join("', '", secret.Keys)}'): kubectl -n {manifest.Namespace} create secret generic {secret.Name} --from-literal={secret.Keys[0]}=...");
            }
            return 0;
        });
        return command;
    }
}
