using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Api;
using Flotilla.Runtime;

namespace Flotilla.Tests.Api;

/// <summary>The API's wire format is its contract types', not the internal records they are mapped from.</summary>
public sealed class ApiContractTests
{
    private static readonly InstanceStatus Internal = new(
        "web-1", "web", "r1", Pid: 4242, ProcessStartTime: 99, Port: 7001, InstanceState.Ready, DateTimeOffset.UnixEpoch,
        ReadySince: DateTimeOffset.UnixEpoch.AddSeconds(1), WasReady: true, StopRequested: false, ExitCode: null, Reason: null,
        LogPath: "/var/lib/flotilla/logs/web-1.log", Zone: "a");

    [Fact]
    public void AnInstance_OnTheWire_HasThePromisedFields_AndNoneOfTheRuntimesBookkeeping()
    {
        var json = JsonNode.Parse(JsonSerializer.Serialize(InstanceView.From(Internal), ApiJson.Options))!.AsObject();

        Assert.Equal(
            ["exitCode", "host", "id", "node", "pid", "port", "readySince", "reason", "revision", "service", "startedAt", "state", "zone"],
            json.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(4242, (int)json["pid"]!);
        Assert.Equal("a", (string?)json["zone"]);
        Assert.Equal("127.0.0.1", (string?)json["host"]);
    }

    [Fact]
    public void AnInstance_ReadBackByTheCli_KeepsWhatItShows()
    {
        var view = InstanceView.From(Internal);

        var read = JsonSerializer.Deserialize<InstanceView>(JsonSerializer.Serialize(view, ApiJson.Options), ApiJson.Options);

        Assert.Equal(view, read);
    }
}
