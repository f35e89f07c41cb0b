namespace Flotilla.Runtime;

/// <summary>A machine of an engine that schedules by itself (a Swarm node): its address (where its instances are reached), zone label and state.</summary>
public sealed record NodeStatus(string Id, string Hostname, string Address, string? Zone, string State, string Availability, bool Manager)
{
    public bool Ready => State == "ready" && Availability == "active";

    /// <summary>How a person tells nodes apart (hostnames can repeat, as on one machine).</summary>
    public string Name => $"{Hostname}/{Id[..Math.Min(6, Id.Length)]} ({Address}{(Zone is null ? "" : $", zone {Zone}")})";
}
