namespace Flotilla.Controllers.Inboxes;

/// <summary>
/// Decides, with no I/O, which dropped files are complete. A file cannot say it is closed, so a
/// file is taken once its size and last write have stayed the same for <c>settle</c>; a writer
/// that is still appending keeps changing them. Names a writer uses before renaming a file in
/// (dot files, .tmp, .part) are never taken, which is the way to drop a file with no doubt.
/// </summary>
public static class InboxPlanner
{
    public static InboxPlan Plan(IReadOnlyList<InboxFile> seen, IReadOnlyDictionary<string, InboxSighting> previous, TimeSpan settle, DateTimeOffset now)
    {
        var take = new List<string>();
        var sightings = new Dictionary<string, InboxSighting>(StringComparer.Ordinal);
        foreach (var file in seen.OrderBy(f => f.LastWrite).ThenBy(f => f.Name, StringComparer.Ordinal))
        {
            if (InboxPaths.IsIgnored(file.Name))
            {
                continue;
            }
            if (previous.GetValueOrDefault(file.Name) is not { } before || before.Size != file.Size || before.LastWrite != file.LastWrite)
            {
                sightings[file.Name] = new InboxSighting(file.Size, file.LastWrite, now);
            }
            else if (now - before.Since >= settle)
            {
                take.Add(file.Name);
            }
            else
            {
                sightings[file.Name] = before;
            }
        }
        return new InboxPlan(take, sightings);
    }
}
