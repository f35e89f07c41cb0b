using System.CommandLine;
using Flotilla.Cli.Output;
using Flotilla.Kubernetes;
using Flotilla.Runtime.Kubernetes;
using k8s;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla apply --target kubernetes [--context NAME] [--kubeconfig FILE] [-f path] [--env E] [--wait | --prune]</c>:
/// the spec rendered and server-side applied to a cluster by KubernetesClient, with no Flotilla
/// server involved; --wait until its Deployments are available, --prune then deletes what earlier
/// applies left (old revisions; those a newer available revision replaced go before the wait, so the
/// namespace's quota admits the new pods). Without --target, apply goes to a Flotilla server as before.
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
        var tenant = new Option<string?>("--tenant") { Description = "With --target kubernetes: the tenant whose system this is (namespace TENANT-SYSTEM[-ENV])" };
        var includeSecrets = new Option<bool>("--include-secrets") { Description = "With --target kubernetes: apply the Secrets of 'file:' secrets with their values too" };
        var wait = new Option<bool>("--wait") { Description = "With --target kubernetes: wait until every rendered Deployment is available (exit 1 if not within --timeout)" };
        var prune = new Option<bool>("--prune") { Description = "With --target kubernetes: once every rendered Deployment is available, delete this system's objects the render no longer has (earlier revisions; those a newer available one replaced go before the wait)" };
        var timeout = new Option<TimeSpan>("--timeout") { DefaultValueFactory = _ => TimeSpan.FromMinutes(5), Description = "How long --wait and --prune wait for availability (e.g. 00:05:00)" };
        apply.Options.Add(registry);
        apply.Options.Add(tenant);
        apply.Options.Add(includeSecrets);
        apply.Options.Add(wait);
        apply.Options.Add(prune);
        apply.Options.Add(timeout);
        var toServer = apply.Action!;
        apply.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(target) is null)
            {
                return await ((System.CommandLine.Invocation.AsynchronousCommandLineAction)toServer).InvokeAsync(parse, cancellationToken);
            }
            var after = new AfterApply(parse.GetValue(wait) || parse.GetValue(prune), parse.GetValue(prune), parse.GetValue(timeout));
            var render = new KubernetesRenderOptions(parse.GetValue(registry), Tenant: parse.GetValue(tenant), IncludeSecrets: parse.GetValue(includeSecrets));
            return await RunAsync(parse.GetValue(file)!, parse.GetValue(ApiCommand.Environment), parse.GetValue(context), parse.GetValue(kubeconfig), render, after, cancellationToken);
        });
    }

    private sealed record AfterApply(bool Wait, bool Prune, TimeSpan Timeout);

    private static async Task<int> RunAsync(string path, string? environment, string? context, string? kubeconfig, KubernetesRenderOptions render, AfterApply after, CancellationToken cancellationToken)
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
            KubernetesManifest manifest;
            try
            {
                manifest = KubernetesRenderer.Render(spec, render);
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
            using var client = new k8s.Kubernetes(configuration);
            var applied = await new KubernetesApplier(client).ApplyAsync(manifest, linked.Token);
            foreach (var item in applied)
            {
                var where = item.Namespace is null ? "" : $" in {item.Namespace}";
                Console.WriteLine(item.Replaced is { } why
                    ? $"{item.Kind.ToLowerInvariant()}/{item.Name} replaced{where}: {why}, so it was deleted and created again"
                    : $"{item.Kind.ToLowerInvariant()}/{item.Name} applied{where}");
            }
            Console.WriteLine($"{applied.Count} objects applied to {configuration.Host} (context {context ?? configuration.CurrentContext}, field manager {KubernetesApplier.FieldManager})");
            foreach (var secret in manifest.RequiredSecrets)
            {
                Console.Error.WriteLine($"needs Secret '{secret.Name}' in namespace {manifest.Namespace} (key '{string.Join("', '", secret.Keys)}')");
            }
            return await FinishAsync(new KubernetesPruner(client), manifest, after, linked.Token);
        }
        catch (KubernetesApplyException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Waits and prunes as asked; without --prune, says what earlier applies left running, and warns when the
    /// quota cannot hold them and the new revision. With --prune, revisions that a newer available one made
    /// useless go before the wait, so the quota admits the new revision's pods.
    /// </summary>
    private static async Task<int> FinishAsync(KubernetesPruner pruner, KubernetesManifest manifest, AfterApply after, CancellationToken cancellationToken)
    {
        var early = 0;
        if (after.Prune)
        {
            early = await PruneOlderRevisionsAsync(pruner, manifest, cancellationToken);
        }
        else
        {
            await WarnOverQuotaAsync(pruner, manifest, cancellationToken);
        }
        if (after.Wait)
        {
            var waiting = await pruner.WaitAvailableAsync(manifest, after.Timeout, cancellationToken);
            if (waiting.Count > 0)
            {
                Console.Error.WriteLine($"error: not available within {after.Timeout}: {string.Join("; ", waiting)}{(after.Prune ? early == 0 ? "; nothing was pruned, so the earlier revisions still serve" : $"; only the {early} earlier revisions a newer available one had replaced were pruned, so each service's newest available earlier revision still serves" : "")} (kubectl describe deployment -n {manifest.Namespace} NAME says why)");
                return 1;
            }
            Console.WriteLine($"every deployment of {manifest.Namespace} is available");
        }
        if (!after.Prune)
        {
            try
            {
                var left = await pruner.StaleAsync(manifest, cancellationToken);
                if (left.Count > 0)
                {
                    Console.WriteLine($"{left.Count} objects of earlier applies are still there (their pods serve beside the new ones): {string.Join(", ", left.Select(o => $"{o.Kind.ToLowerInvariant()}/{o.Name}"))}; 'apply --prune' deletes them once the new revisions are available");
                }
            }
            catch (KubernetesApplyException e)
            {
                // Applying needs no list permission; only this note does.
                Console.Error.WriteLine($"note: what earlier applies left was not looked for: {e.Message}");
            }
            return 0;
        }
        var stale = await pruner.StaleAsync(manifest, cancellationToken);
        foreach (var item in stale)
        {
            await pruner.DeleteAsync(item, cancellationToken);
            Console.WriteLine($"{item.Kind.ToLowerInvariant()}/{item.Name} pruned");
        }
        Console.WriteLine($"{stale.Count} objects pruned");
        return 0;
    }

    /// <summary>Deletes the old revisions <see cref="EarlyPrunePlanner"/> says go before the wait; warns for services it keeps whole when the quota is short.</summary>
    private static async Task<int> PruneOlderRevisionsAsync(KubernetesPruner pruner, KubernetesManifest manifest, CancellationToken cancellationToken)
    {
        var deployments = await pruner.DeploymentsAsync(manifest, cancellationToken);
        var plan = EarlyPrunePlanner.Plan(OldRevision.Of(manifest, deployments));
        foreach (var deletion in plan.Delete)
        {
            await pruner.DeleteAsync(new StaleObject("Deployment", manifest.Namespace, deletion.Revision.Deployment), cancellationToken);
            Console.WriteLine($"deployment/{deletion.Revision.Deployment} pruned before the wait: {deletion.NewerAvailable}, a newer revision of {deletion.Revision.Service}, is available (the quota holds two revisions of a service)");
        }
        var deleted = plan.Delete.Select(d => d.Revision.Deployment).ToHashSet(StringComparer.Ordinal);
        if (plan.NoneAvailable.Count == 0
            || QuotaRoom.Exceeded(manifest, deployments.Where(d => !deleted.Contains(d.Metadata.Name)).Select(d => d.Spec?.Replicas ?? 1)) is not { } over)
        {
            return deleted.Count;
        }
        foreach (var unsure in plan.NoneAvailable)
        {
            Console.Error.WriteLine($"warning: no earlier revision of {unsure.Service} is fully available ({string.Join("; ", unsure.Revisions.Select(r => $"{r.Deployment}: {r.NotRolledOut}"))}), so none was deleted before the wait (which of them serves cannot be known); {manifest.Namespace}'s deployments ask for {over.Asked} pods and its quota allows {over.Allowed}, so it may refuse the new pods: if the wait times out, delete the earlier revisions that do not serve (kubectl -n {manifest.Namespace} delete deployment NAME) and apply again");
        }
        return deleted.Count;
    }

    /// <summary>Without --prune: one line when the quota cannot hold every revision there (a note only: applying needs no list permission).</summary>
    private static async Task WarnOverQuotaAsync(KubernetesPruner pruner, KubernetesManifest manifest, CancellationToken cancellationToken)
    {
        try
        {
            var deployments = await pruner.DeploymentsAsync(manifest, cancellationToken);
            if (QuotaRoom.Exceeded(manifest, deployments.Select(d => d.Spec?.Replicas ?? 1)) is { } over)
            {
                Console.Error.WriteLine($"warning: {manifest.Namespace}'s deployments ask for {over.Asked} pods and its quota allows {over.Allowed}, so it refuses some of the new revision's pods: 'apply --prune' deletes revisions older than the newest available one before it waits (or delete them: kubectl -n {manifest.Namespace} delete deployment NAME)");
            }
        }
        catch (KubernetesApplyException e)
        {
            Console.Error.WriteLine($"note: whether the quota holds every revision was not checked: {e.Message}");
        }
    }
}
