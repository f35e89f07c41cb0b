using Flotilla.Controllers.Inboxes;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Store;
using Flotilla.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Functions;

/// <summary>The inbox controller on real files and a real store: claim, message, processed/ and failed/, and every step finished after a crash.</summary>
public sealed class InboxControllerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
    private readonly StateStore _store;
    private readonly EventLog _events;
    private readonly string _inbox;

    public InboxControllerTests()
    {
        _store = StateStore.Open(Path.Combine(_dir.Path, "data"));
        _events = new EventLog(_time);
        _inbox = Path.Combine(_dir.Path, "inbox");
        Directory.CreateDirectory(_inbox);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private InboxController Controller() => new(_store, () =>
        [new DesiredService("ingest", "rev1", 0, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null), TimeoutsSpec.Default, RestartSpec.Default, [],
            Function: new FunctionSpec(new FunctionTrigger(null) { Files = new FileTrigger(_inbox, TimeSpan.FromSeconds(1)) }, FunctionScale.Default, FunctionSpec.DefaultTimeout, FunctionHold.Default))],
        () => { }, _events, _time);

    private QueueMessage LeaseOne() => Assert.Single(_store.Lease("ingest.files", 10, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(1)));

    private void Settle(InboxController controller)
    {
        controller.Look();
        _time.Advance(TimeSpan.FromSeconds(1));
        controller.Look();
    }

    [Fact]
    public void AnsweredFile_GoesToProcessed_FailedFile_GoesToFailedWithItsReason()
    {
        File.WriteAllText(Path.Combine(_inbox, "good.txt"), "good");
        File.WriteAllText(Path.Combine(_inbox, "bad.txt"), "bad");
        File.WriteAllText(Path.Combine(_inbox, "writing.tmp"), "not yet");
        var controller = Controller();
        Settle(controller);
        Assert.Equal(["writing.tmp"], Directory.GetFiles(_inbox).Select(Path.GetFileName));
        var messages = _store.Lease("ingest.files", 10, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(1)).ToDictionary(m => InboxPaths.OriginalName(m.Source!));
        Assert.Equal("good", System.Text.Encoding.UTF8.GetString(messages["good.txt"].Body));
        Assert.Equal("text/plain", messages["good.txt"].ContentType);
        Assert.True(_store.Acknowledge(messages["good.txt"].Id, messages["good.txt"].Token!));
        Assert.True(_store.Fail(messages["bad.txt"].Id, messages["bad.txt"].Token!, "attempt 1: answered 500: no", retryAt: null));
        controller.Look();

        var processed = Assert.Single(Directory.GetFiles(InboxPaths.Processed(_inbox)));
        Assert.EndsWith("-good.txt", processed, StringComparison.Ordinal);
        Assert.Equal("good", File.ReadAllText(processed));
        var failed = Directory.GetFiles(InboxPaths.Failed(_inbox)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, failed.Count);
        Assert.EndsWith("-bad.txt", failed[0], StringComparison.Ordinal);
        Assert.Equal("attempt 1: answered 500: no\n", File.ReadAllText(failed[1]));
        Assert.Empty(Directory.GetFiles(InboxPaths.Claimed(_inbox)));
        Assert.Empty(_store.FileMessages("ingest.files"));
        Assert.Contains(_events.Since(0), e => e.Warning && e.Message.Contains("bad.txt failed every attempt", StringComparison.Ordinal));
        // Converged: nothing more happens.
        controller.Look();
        Assert.Single(Directory.GetFiles(InboxPaths.Processed(_inbox)));
    }

    [Fact]
    public void AClaimCutByACrash_BeforeItsMessage_IsFinishedByTheNextControlPlane()
    {
        // A control plane renamed the file into claimed/ and died before enqueuing it.
        Directory.CreateDirectory(InboxPaths.Claimed(_inbox));
        File.WriteAllText(Path.Combine(InboxPaths.Claimed(_inbox), "1764936000000-a.txt"), "a");
        Controller().Look();
        var message = LeaseOne();
        Assert.Equal("a.txt", InboxPaths.OriginalName(message.Source!));
        Assert.True(_store.Acknowledge(message.Id, message.Token!));
        // It dies again after the answer was recorded, before the file was moved: the next one moves it, once.
        var next = Controller();
        next.Look();
        next.Look();
        Assert.Single(Directory.GetFiles(InboxPaths.Processed(_inbox)));
        Assert.Empty(_store.FileMessages("ingest.files"));
    }

    [Fact]
    public void AFileMovedButNotForgotten_BeforeACrash_IsNotDeliveredAgain()
    {
        File.WriteAllText(Path.Combine(_inbox, "a.txt"), "a");
        Settle(Controller());
        var message = LeaseOne();
        Assert.True(_store.Acknowledge(message.Id, message.Token!));
        // Moved to processed/ by hand of a dying control plane, the message still there (done).
        Directory.CreateDirectory(InboxPaths.Processed(_inbox));
        File.Move(message.Source!, Path.Combine(InboxPaths.Processed(_inbox), Path.GetFileName(message.Source!)));
        Controller().Look();
        Assert.Empty(_store.FileMessages("ingest.files"));
        Assert.Empty(_store.Lease("ingest.files", 10, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(1)));
        Assert.Single(Directory.GetFiles(InboxPaths.Processed(_inbox)));
    }
}
