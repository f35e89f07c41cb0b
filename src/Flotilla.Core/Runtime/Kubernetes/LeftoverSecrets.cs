namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Which of this control plane's Secrets were left behind, as a pure function: a revision's Secret is
/// applied before its ReplicaSet and owned by it only once that exists, so a control plane that died in
/// between, or whose ReplicaSet was refused, leaves a Secret nothing removes. Left behind: labelled with
/// this owner (the list asks only for those), no owner reference (an owned one goes with its
/// ReplicaSet through the garbage collector), no ReplicaSet of its name, no revision of its name in flight
/// here (its Secret applied, its ReplicaSet still to come or retried), and older than <see cref="Grace"/>
/// by its creationTimestamp (so a Secret made in a moment this driver does not know of yet, by the
/// API server's clock a little ahead of this one's, is not taken for one left).
/// </summary>
internal static class LeftoverSecrets
{
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A Secret of this owner as listed: whether an owner reference holds it, when it was made (null: unknown,
    /// kept), and its uid (null: unknown, kept; the delete is conditional on it).
    /// </summary>
    public sealed record Listed(string Name, bool Owned, DateTimeOffset? CreatedAt, string? Uid);

    public static IReadOnlyList<Listed> Plan(IReadOnlyList<Listed> secrets, IReadOnlySet<string> replicaSets, IReadOnlySet<string> inFlight, DateTimeOffset now) =>
        secrets.Where(s => !s.Owned && !replicaSets.Contains(s.Name) && !inFlight.Contains(s.Name) && s.CreatedAt is { } made && now - made >= Grace && s.Uid is { Length: > 0 })
            .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
}
