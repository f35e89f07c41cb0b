namespace Flotilla.Controllers.Inboxes;

/// <summary>The files to take now, and the sightings to remember for the next look (files still settling).</summary>
public sealed record InboxPlan(IReadOnlyList<string> Take, IReadOnlyDictionary<string, InboxSighting> Sightings);
