namespace Flotilla.Isolation;

/// <summary>The Unix user a service's instances run as (<see cref="InstanceUsers"/>), and its own group.</summary>
public sealed record InstanceUser(string Name, int Uid, int Gid);
