using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Store;

namespace Flotilla.Controllers.Inboxes;

/// <summary>
/// Watches functions' inbox directories. Level-triggered: every look re-reads each inbox, its
/// claimed files and their messages in the store, and moves each one step on:
/// <list type="number">
/// <item>a settled file (<see cref="InboxPlanner"/>) is claimed by a rename into
/// <c>.flotilla/claimed/</c> (atomic: no other look or writer sees it half-moved);</item>
/// <item>a claimed file with no message gets one (its bytes, and its path as the source): this is
/// also what finishes a claim cut short by a crash;</item>
/// <item>a message answered (done) moves its file to <c>processed/</c>; one dead (every attempt
/// failed) moves it to <c>failed/</c> with a <c>.reason</c> file; then the message is forgotten.</item>
/// </list>
/// Delivery itself is <see cref="Queues.QueueDelivery"/>'s (at least once, retried with back-off).
/// </summary>
/// <param name="functions">The functions declared now.</param>
/// <param name="wake">Wakes queue delivery after a message was enqueued.</param>
public sealed class InboxController(StateStore store, Func<IReadOnlyList<DesiredService>> functions, Action wake, EventLog events, TimeProvider? time = null) : IAsyncDisposable
{
    /// <summary>A file's bytes travel in the store's message: larger ones are failed at once, with the reason.</summary>
    internal const long MaxBytes = 64L << 20;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider ContentTypes = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, IReadOnlyDictionary<string, InboxSighting>> _sightings = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(() => RecordedLoop.RunAsync(Look, Tick, _time, events, "inboxes", "inbox look", _stop.Token));

    /// <summary>One look at every function's inbox.</summary>
    internal void Look()
    {
        foreach (var function in functions())
        {
            if (function.Function?.Trigger.Files is { } files)
            {
                LookAt(function.Name, files, function.Function.Trigger.DeliveryQueue(function.Name)!);
            }
        }
    }

    private void LookAt(string function, FileTrigger trigger, string queue)
    {
        var inbox = trigger.Directory;
        if (!Directory.Exists(inbox))
        {
            return;
        }
        var claimed = InboxPaths.Claimed(inbox);
        Directory.CreateDirectory(claimed);
        var seen = new DirectoryInfo(inbox).EnumerateFiles().Select(f => new InboxFile(f.Name, f.Length, f.LastWriteTimeUtc)).ToList();
        var plan = InboxPlanner.Plan(seen, _sightings.GetValueOrDefault(function) ?? new Dictionary<string, InboxSighting>(), trigger.Settle, _time.GetUtcNow());
        _sightings[function] = plan.Sightings;
        foreach (var name in plan.Take)
        {
            var target = Path.Combine(claimed, InboxPaths.UniqueName(claimed, name, _time.GetUtcNow()));
            try
            {
                File.Move(Path.Combine(inbox, name), target);
            }
            catch (FileNotFoundException)
            {
                // Taken away by someone else between the look and the move: nothing to deliver.
            }
        }

        var messages = store.FileMessages(queue).ToDictionary(m => m.Source, StringComparer.Ordinal);
        var enqueued = false;
        foreach (var path in Directory.EnumerateFiles(claimed).Order(StringComparer.Ordinal))
        {
            if (!messages.ContainsKey(path))
            {
                enqueued |= Enqueue(function, inbox, queue, path);
            }
        }
        foreach (var message in messages.Values.Where(m => m.Done || m.Dead))
        {
            Settle(function, inbox, message);
        }
        if (enqueued)
        {
            wake();
        }
    }

    private bool Enqueue(string function, string inbox, string queue, string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxBytes)
        {
            MoveOut(path, InboxPaths.Failed(inbox), $"{length} bytes is more than a file trigger carries ({MaxBytes >> 20} MiB): hand the function a path or a URL to it instead");
            events.Record(function, $"inbox: {InboxPaths.OriginalName(path)} is too large ({length} bytes): moved to failed/", warning: true);
            return false;
        }
        var contentType = ContentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream";
        var id = store.Enqueue(queue, File.ReadAllBytes(path), contentType, _time.GetUtcNow(), path);
        events.Record(function, $"inbox: took {InboxPaths.OriginalName(path)} ({length} bytes) as message {id}");
        return true;
    }

    private void Settle(string function, string inbox, FileMessage message)
    {
        if (File.Exists(message.Source))
        {
            if (message.Done)
            {
                MoveOut(message.Source, InboxPaths.Processed(inbox), null);
                events.Record(function, $"inbox: {InboxPaths.OriginalName(message.Source)} was handled: moved to processed/{Path.GetFileName(message.Source)}");
            }
            else
            {
                MoveOut(message.Source, InboxPaths.Failed(inbox), message.LastError ?? "every attempt failed");
                events.Record(function, $"inbox: {InboxPaths.OriginalName(message.Source)} failed every attempt ({message.LastError}): moved to failed/{Path.GetFileName(message.Source)}; drop it in the inbox again to retry", warning: true);
            }
        }
        store.RemoveMessage(message.Id);
    }

    /// <summary>Moves a claimed file out, its reason written first (so a failed file is never without it).</summary>
    private static void MoveOut(string path, string directory, string? reason)
    {
        Directory.CreateDirectory(directory);
        var target = Path.Combine(directory, Path.GetFileName(path));
        if (reason is not null)
        {
            File.WriteAllText(target + ".reason", reason + "\n");
        }
        File.Move(path, target, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        await _loop;
    }
}
