using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Api;
using Flotilla.Tenancy;

namespace Flotilla.Tests.Tenancy;

/// <summary>
/// Concurrent changes of one tenant's environments against its quota, through a real server:
/// the quota check and the recording of each change are one step per tenant, so together they
/// never exceed it.
/// </summary>
public sealed class QuotaRaceTests
{
    private const int Environments = 12;

    private static string Spec(int instances) => $$"""
        name: race
        services:
          web:
            command: [definitely-not-a-program]
            instances: {{instances}}
        environments:
        {{string.Join("\n", Enumerable.Range(1, Environments).Select(i => $"  e{i}: {{}}"))}}
        """;

    [Fact]
    public async Task ConcurrentScalesAndApplies_OfOneTenant_NeverTogetherExceedItsQuota_AndTheRefusedRecordNothing()
    {
        await using var h = await TenantHarness.StartAsync();
        await h.CreateTenantAsync("alpha");
        var token = await h.TokenAsync("alpha", "lead", TenantRoles.Admin);
        var clients = Enumerable.Range(1, Environments).Select(i => h.Client(token, $"e{i}")).ToList();
        foreach (var (client, i) in clients.Select((c, i) => (c, i)))
        {
            var applied = await client.PostAsJsonAsync("v1/apply", new ApplyBody(Spec(1), h.SpecFile, $"e{i + 1}", null, null), ApiJson.Options);
            Assert.Equal(HttpStatusCode.Created, applied.StatusCode);
        }
        var planes = h.Planes.Of("alpha").ToDictionary(p => p.State.Environment!, StringComparer.Ordinal);
        Assert.Equal(Environments, planes.Count);

        // Several rounds, each from a fresh start: 12 in use, room for 8 more, each change needs 2 more.
        for (var round = 0; round < 3; round++)
        {
            var quota = Environments + 8;
            Assert.Equal(HttpStatusCode.OK, (await h.Operator.PutAsJsonAsync("v1/tenants/alpha/quota", new TenantQuota(Instances: quota), ApiJson.Options)).StatusCode);
            var revisions = planes.ToDictionary(p => p.Key, p => p.Value.Store.LatestRevisionNumber, StringComparer.Ordinal);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var changes = clients.Select((client, i) => Task.Run(async () =>
            {
                var environment = $"e{i + 1}";
                await start.Task;
                // Half scale, half apply a spec that asks for more: both go through the same admission.
                var answer = i % 2 == 0
                    ? await client.PostAsJsonAsync("v1/services/web/scale", new ScaleBody(3), ApiJson.Options)
                    : await client.PostAsJsonAsync("v1/apply", new ApplyBody(Spec(3), h.SpecFile, environment, null, null), ApiJson.Options);
                return (Environment: environment, Status: answer.StatusCode, Body: await answer.Content.ReadAsStringAsync());
            })).ToList();
            start.SetResult();
            var answers = await Task.WhenAll(changes).WaitAsync(TimeSpan.FromSeconds(120));

            var accepted = answers.Where(a => a.Status is HttpStatusCode.OK or HttpStatusCode.Created or HttpStatusCode.NoContent).ToList();
            var refused = answers.Where(a => a.Status == HttpStatusCode.Conflict).ToList();
            Assert.True(accepted.Count + refused.Count == Environments, string.Join("\n", answers.Select(a => $"{a.Environment}: {a.Status} {a.Body}")));
            var inUse = planes.Values.Sum(p => p.Composed().Sum(s => s.Instances));
            Assert.True(inUse <= quota, $"round {round}: {inUse} instances desired under a quota of {quota}; accepted: {string.Join(", ", accepted.Select(a => a.Environment))}");
            Assert.Equal(4, accepted.Count);
            Assert.Equal(quota, inUse);
            foreach (var (environment, _, body) in refused)
            {
                Assert.Contains($"refused by the quota of tenant 'alpha', nothing was started: instances: quota {quota}", (string?)JsonNode.Parse(body)!["title"], StringComparison.Ordinal);
                // Nothing partial: no revision, no override, the environment runs what it ran.
                var plane = planes[environment];
                Assert.Equal(revisions[environment], plane.Store.LatestRevisionNumber);
                Assert.Empty(plane.Store.ServiceOverrides());
                Assert.Equal(1, plane.Composed().Single().Instances);
            }
            foreach (var (environment, _, _) in accepted)
            {
                Assert.Equal(3, planes[environment].Composed().Single().Instances);
            }

            // Back to one each for the next round.
            Assert.Equal(HttpStatusCode.OK, (await h.Operator.PutAsJsonAsync("v1/tenants/alpha/quota", new TenantQuota(Instances: 1000), ApiJson.Options)).StatusCode);
            foreach (var (client, i) in clients.Select((c, i) => (c, i)))
            {
                var reset = await client.PostAsJsonAsync("v1/apply", new ApplyBody(Spec(1), h.SpecFile, $"e{i + 1}", null, null), ApiJson.Options);
                Assert.True(reset.IsSuccessStatusCode, await reset.Content.ReadAsStringAsync());
                // A scale to what the spec declares drops the override (an unchanged apply keeps it).
                Assert.True((await client.PostAsJsonAsync("v1/services/web/scale", new ScaleBody(1), ApiJson.Options)).IsSuccessStatusCode);
            }
            Assert.Equal(Environments, planes.Values.Sum(p => p.Composed().Sum(s => s.Instances)));
        }
    }
}
