using Flotilla.Runtime;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Secrets;
using Flotilla.Tests.Support;
using k8s.Models;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// A revision's Secret is applied before its ReplicaSet, owned by nothing until that exists: when the
/// ReplicaSet is never made (refused, then the revision given up; or the control plane gone between the
/// two) the Secret is deleted, by this driver or the next, and no other Secret is touched.
/// </summary>
public sealed partial class KubernetesDriverTests
{
    private static readonly Dictionary<string, string> SecretValues = new() { ["DB_PASSWORD"] = "s3cr3t" };

    private static InstanceLaunch WithSecret(InstanceLaunch launch) =>
        launch with { Secrets = [new SecretRef("DB_PASSWORD", SecretRef.FromStore, "db", false, "f1")] };

    private int SecretDeletes(string name) => _api.Requests.Count(r => r.Method == "DELETE" && r.Path == $"/api/v1/namespaces/shop/secrets/{name}");

    [Fact]
    public async Task ASecretWhoseReplicaSetIsRefused_IsDeleted_WhenItsRevisionIsGivenUp()
    {
        _api.RefuseReplicaSetApplies(422);
        await using var driver = Driver(secrets: s => SecretValues[s.Variable]);
        driver.Start(WithSecret(Launch("web-1")));
        var name = ReplicaSets.Name(driver.Owner, "web", "r1");
        await UntilRecorded($"cannot apply ReplicaSet shop/{name} for revision r1 (answered 422", warning: true);
        Assert.NotNull(_api.Secret(name));

        // Refused is not unreachable: said once, tried again every 5 s while the instance waits.
        await Eventually.Until(() => _api.Requests.Count(r => r.Method == "PATCH" && r.Path == $"/apis/apps/v1/namespaces/shop/replicasets/{name}") >= 3, Long, "the ReplicaSet to be tried twice more");
        Assert.Null(driver.Unreachable);
        Assert.Single(Warnings($"cannot apply ReplicaSet shop/{name}"));
        Assert.Contains("refused by an admission webhook", Warnings($"cannot apply ReplicaSet shop/{name}").Single(), StringComparison.Ordinal);
        Assert.Equal(InstanceState.Starting, driver.Observe().Single().State);
        Assert.NotNull(_api.Secret(name));

        // Given up (the controllers stop an instance that never starts): its Secret goes at once.
        await driver.StopAsync("web-1", TimeSpan.FromSeconds(5), "did not start in time").WaitAsync(Long);
        await Eventually.Until(() => _api.Secret(name) is null, Long, "the given-up revision's Secret to be deleted");
        Assert.Equal(1, SecretDeletes(name));
        // Said right after the DELETE is answered, so a moment after the Secret is seen gone.
        await UntilRecorded($"deleted Secret shop/{name}: revision r1 was given up before its ReplicaSet was made", warning: false);
        Assert.Null(_api.ReplicaSet(name));
        lock (_events)
        {
            Assert.DoesNotContain(_events, e => e.Message.Contains("s3cr3t", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ASecretLeftWithoutItsReplicaSet_IsDeletedByTheNextDriver_OnceOlderThanTheGrace_AndNoOtherSecretIsTouched()
    {
        // A control plane applies a revision's Secret, its ReplicaSet is refused, and it stops (dies) before it gives the revision up.
        _api.RefuseReplicaSetApplies(403);
        var first = Driver(secrets: s => SecretValues[s.Variable]);
        first.Start(WithSecret(Launch("web-1")));
        var left = ReplicaSets.Name(first.Owner, "web", "r1");
        await UntilRecorded($"cannot apply ReplicaSet shop/{left}", warning: true);
        await first.DisposeAsync();
        _api.RefuseReplicaSetApplies(0);
        Assert.NotNull(_api.Secret(left));

        // Another control plane's Secret left the same way, long ago: never this one's to delete.
        var foreign = ReplicaSets.Name("0123456789ab", "web", "r1");
        _api.PutSecret(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = foreign, Labels = new Dictionary<string, string> { [ReplicaSets.OwnerLabel] = "0123456789ab", [ReplicaSets.ServiceLabel] = "web", [ReplicaSets.RevisionLabel] = "r1" } },
        }, TimeSpan.FromHours(1));

        // The next control plane (the same owner) runs another revision with a Secret; pods are relisted every 3 s, and the leftovers swept as often.
        await using var second = Driver(relistEvery: TimeSpan.FromSeconds(3), secrets: s => SecretValues[s.Variable]);
        second.Start(WithSecret(Launch("web-2", revision: "r2")));
        await AllReady(second, 1, "the second revision to run");
        var kept = ReplicaSets.Name(second.Owner, "web", "r2");
        Assert.Equal(first.Owner, second.Owner);

        // Made a moment ago: within the grace (it could be a Secret whose ReplicaSet is on its way), it stays.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.NotNull(_api.Secret(left));

        // A minute later (time passes over the Secrets): the left one is deleted at the next sweep. The
        // running revision's Secret stays even with its owner reference gone (its ReplicaSet exists), and so does the other owner's.
        _api.EditSecret(left, TimeSpan.FromMinutes(2));
        _api.EditSecret(kept, TimeSpan.FromMinutes(2), s => s.Metadata.OwnerReferences = null);
        await Eventually.Until(() => _api.Secret(left) is null, Long, "the left Secret to be deleted by the sweep");
        await UntilRecorded($"deleted Secret shop/{left}: left without its ReplicaSet", warning: false);
        var lists = _api.Requests.Count(r => r.Method == "GET" && r.Path == "/api/v1/namespaces/shop/secrets");
        await Eventually.Until(() => _api.Requests.Count(r => r.Method == "GET" && r.Path == "/api/v1/namespaces/shop/secrets") > lists, Long, "one more sweep");
        Assert.NotNull(_api.Secret(kept));
        Assert.NotNull(_api.Secret(foreign));
        Assert.Equal((0, 0), (SecretDeletes(kept), SecretDeletes(foreign)));
        Assert.All(_api.Requests.Where(r => r.Method == "GET" && r.Path == "/api/v1/namespaces/shop/secrets"),
            r => Assert.Contains($"labelSelector=flotilla.io%2Fowner%3D{second.Owner}", r.Query, StringComparison.Ordinal));
        // The sweep lists metadata only: no Secret's value was sent to it.
        Assert.All(_api.Requests.Where(r => r.Method == "GET" && r.Path == "/api/v1/namespaces/shop/secrets"),
            r => Assert.StartsWith("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1", r.Accept, StringComparison.Ordinal));
        Assert.Equal(0, _api.SecretListsWithValues);
        Assert.Equal(InstanceState.Ready, second.Observe().Single().State);
    }

    /// <summary>
    /// Between the sweep's list and its delete, the left Secret is deleted and made again under its name
    /// (by hand, or an apply of its revision): the delete carries the uid listed, the API server answers 409,
    /// and the new Secret stays.
    /// </summary>
    [Fact]
    public async Task ASecretMadeAgainAfterTheSweepListedIt_IsNotDeleted()
    {
        await using var driver = Driver(relistEvery: TimeSpan.FromSeconds(3));
        var left = ReplicaSets.Name(driver.Owner, "web", "r0");
        _api.PutSecret(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = left, Labels = new Dictionary<string, string> { [ReplicaSets.OwnerLabel] = driver.Owner, [ReplicaSets.ServiceLabel] = "web", [ReplicaSets.RevisionLabel] = "r0" } },
        }, TimeSpan.FromHours(1));
        var listedUid = _api.Secret(left)!.Metadata.Uid;
        _api.RemakeSecretAfterNextList(left);
        driver.Start(Launch("web-1"));

        await UntilRecorded($"kept Secret shop/{left}: it was deleted and made again since it was found left", warning: false);
        var delete = Assert.Single(_api.Requests, r => r.Method == "DELETE" && r.Path == $"/api/v1/namespaces/shop/secrets/{left}");
        Assert.Contains($"\"uid\":\"{listedUid}\"", delete.Body, StringComparison.Ordinal);
        var remade = _api.Secret(left);
        Assert.NotNull(remade);
        Assert.NotEqual(listedUid, remade.Metadata.Uid);
        Assert.False(Recorded($"deleted Secret shop/{left}", warning: false));
        Assert.Null(driver.Unreachable);
        await AllReady(driver, 1, "the instance to run beside the kept Secret");
    }
}
