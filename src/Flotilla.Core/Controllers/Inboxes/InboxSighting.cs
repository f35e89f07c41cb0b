namespace Flotilla.Controllers.Inboxes;

/// <summary>A file as it was last seen, and since when it has looked exactly so.</summary>
public sealed record InboxSighting(long Size, DateTimeOffset LastWrite, DateTimeOffset Since);
