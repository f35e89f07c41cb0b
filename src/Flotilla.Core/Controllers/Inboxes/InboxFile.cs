namespace Flotilla.Controllers.Inboxes;

/// <summary>A file seen at the top of a watched directory: its name, size and last write.</summary>
public sealed record InboxFile(string Name, long Size, DateTimeOffset LastWrite);
