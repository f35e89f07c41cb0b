using Flotilla.Runtime;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// Each pod's output copied into its instance's log: resumed after a broken stream, followed through a
/// replacement, and, on adoption by a restarted driver, from after the last line copied, whatever the node's clock says.
/// </summary>
public sealed partial class KubernetesDriverTests
{
    private static string LogOf(KubernetesDriver driver, string id) =>
        driver.Observe().Single(i => i.Id == id).LogPath is { } path && File.Exists(path) ? File.ReadAllText(path) : "";

    private static int Occurrences(string text, string line) => text.Split('\n').Count(l => l == line);

    /// <summary>Breaks the log streams, has web-1's pod print "while cut" and "after the cut", and gives web-1's log once the follow has brought them.</summary>
    private async Task<string> CutAndPrintAsync(KubernetesDriver driver, string pod)
    {
        _api.BreakLogs();
        _api.PushLog(pod, "while cut");
        _api.PushLog(pod, "after the cut");
        await Eventually.Until(() => LogOf(driver, "web-1").Contains("after the cut\n", StringComparison.Ordinal), Long, "the lines printed while the stream was cut");
        return LogOf(driver, "web-1");
    }

    [Fact]
    public async Task APodsOutput_IsCopiedIntoItsInstancesLog_ResumedWhenTheStreamBreaks_AndEndedWhenItStops()
    {
        var driver = Driver();
        driver.Start(Launch("web-1"));
        driver.Start(Launch("web-2"));
        await AllReady(driver, 2, "two instances to be ready");
        var pod = PodOf(driver, "web-1");
        _api.PushLog(pod, "listening on 8080");
        _api.PushLog(PodOf(driver, "web-2"), "web-2 says hello");

        await Eventually.Until(() => LogOf(driver, "web-1").Contains("listening on 8080\n", StringComparison.Ordinal), Long, "web-1's pod's line in its log");
        await Eventually.Until(() => LogOf(driver, "web-2").Contains("web-2 says hello\n", StringComparison.Ordinal), Long, "web-2's pod's line in its log");
        Assert.DoesNotContain("web-2 says hello", LogOf(driver, "web-1"), StringComparison.Ordinal);
        Assert.DoesNotContain("kubectl logs", LogOf(driver, "web-1"), StringComparison.Ordinal);
        Assert.Contains("its output follows, copied from the API server", LogOf(driver, "web-1"), StringComparison.Ordinal);
        var follows = _api.Requests.Where(r => r.Path == $"/api/v1/namespaces/shop/pods/{pod}/log").ToList();
        Assert.Single(follows);
        Assert.Contains("follow=true", follows[0].Query, StringComparison.Ordinal);
        Assert.DoesNotContain("since", follows[0].Query, StringComparison.Ordinal);

        // The stream breaks; what the pod prints meanwhile is copied once the follow is resumed, and nothing twice.
        var log = await CutAndPrintAsync(driver, pod);
        Assert.Equal((1, 1, 1), (Occurrences(log, "listening on 8080"), Occurrences(log, "while cut"), Occurrences(log, "after the cut")));
        Assert.Contains(_api.Requests, r => r.Path == $"/api/v1/namespaces/shop/pods/{pod}/log" && r.Query.Contains("sinceTime=", StringComparison.Ordinal));

        // What a pod prints while it stops still goes to its instance's log; a replacement pod of the same instance goes on into the same log.
        _api.DeletePod(pod);
        _api.PushLog(pod, "SIGTERM: bye");
        await Eventually.Until(() => driver.BoundPod("web-1") is { } now && now != pod, Long, "web-1's pod to be replaced");
        var replacement = driver.BoundPod("web-1")!;
        _api.PushLog(replacement, "the replacement starts");
        await Eventually.Until(() => LogOf(driver, "web-1").Contains("the replacement starts\n", StringComparison.Ordinal), Long, "the replacement's line in web-1's log");
        Assert.Equal(1, Occurrences(LogOf(driver, "web-1"), "SIGTERM: bye"));

        // Stopped, the instance's follow ends; disposed, the driver leaves no follow open.
        await driver.StopAsync("web-1", TimeSpan.FromSeconds(5), "scaled down").WaitAsync(Long);
        await Eventually.Until(() => driver.FollowedLogs == 1, Long, "only web-2's pod to be followed");
        await driver.DisposeAsync();
        await Eventually.Until(() => _api.OpenLogStreams == 0, Long, "no log stream left open");
    }

    [Fact]
    public async Task ARestartedDriver_CopiesWhatAnAdoptedPodPrintedMeanwhile_AndNothingTwice()
    {
        var first = Driver();
        first.Start(Launch("web-1"));
        await AllReady(first, 1, "the instance to be ready");
        var pod = PodOf(first, "web-1");
        _api.PushLog(pod, "one");
        await Eventually.Until(() => LogOf(first, "web-1").Contains("one\n", StringComparison.Ordinal), Long, "the first line copied");
        await first.DisposeAsync();
        _api.PushLog(pod, "two");

        // Adopted under a new instance name: its log starts with everything the pod printed.
        var second = Driver();
        await second.AttachAsync(CancellationToken.None).WaitAsync(Long);
        await AllReady(second, 1, "the pod adopted");
        var adopted = second.BoundInstance(pod)!;
        await Eventually.Until(() => LogOf(second, adopted).Contains("two\n", StringComparison.Ordinal), Long, "the lines printed while no control plane ran");
        await second.DisposeAsync();
        _api.PushLog(pod, "three");

        // Adopted again by the same name: after the last line its log holds of the pod, so nothing is copied twice.
        await using var third = Driver();
        await third.AttachAsync(CancellationToken.None).WaitAsync(Long);
        await Eventually.Until(() => LogOf(third, adopted).Contains("three\n", StringComparison.Ordinal), Long, "the line printed during the second restart");
        await Task.Delay(500);
        var log = LogOf(third, adopted);
        Assert.Equal((1, 1, 1), (Occurrences(log, "one"), Occurrences(log, "two"), Occurrences(log, "three")));
        Assert.Contains(_api.Requests, r => r.Path == $"/api/v1/namespaces/shop/pods/{pod}/log" && r.Query.Contains("sinceTime=", StringComparison.Ordinal));
    }

    /// <summary>A pod made by a driver that is then disposed, and adopted by a new driver under the instance name a pod keeps across restarts.</summary>
    private async Task<(string Pod, string Instance, KubernetesDriver Driver)> AdoptedPod()
    {
        var starter = Driver();
        starter.Start(Launch("web-1"));
        await AllReady(starter, 1, "the instance to be ready");
        var pod = PodOf(starter, "web-1");
        await starter.DisposeAsync();
        var adopting = Driver();
        await adopting.AttachAsync(CancellationToken.None).WaitAsync(Long);
        await AllReady(adopting, 1, "the pod adopted");
        return (pod, adopting.BoundInstance(pod)!, adopting);
    }

    [Fact]
    public async Task AnAdoptedPodsLog_GoesOnAfterTheLastLineCopied_NoneLostNoneTwice_WithTheNodeClockBehindAndLinesNotYetCopied()
    {
        // The node's clock is two minutes behind this machine's, in whole seconds: lines printed after the
        // instance's log was last written carry earlier stamps than its mtime, and a burst shares one stamp.
        _api.NodeClockOffset = TimeSpan.FromMinutes(-2);
        _api.CoarseNodeClock = true;
        var (pod, instance, first) = await AdoptedPod();
        var printed = new List<string>();
        void Print(string line)
        {
            _api.PushLog(pod, line);
            printed.Add(line);
        }
        Print("one");
        Print("two");
        await Eventually.Until(() => LogOf(first, instance).EndsWith("two\n", StringComparison.Ordinal), Long, "the first lines copied");
        var log = first.Observe().Single(i => i.Id == instance).LogPath!;

        // Copy lag: printed, not yet sent to the follow, when the control plane dies (no flush: disposed as it is).
        _api.StallLogs(true);
        Print("three");
        Print("four");
        await Task.Delay(300);
        Assert.DoesNotContain("three", File.ReadAllText(log), StringComparison.Ordinal);
        await first.DisposeAsync();
        _api.StallLogs(false);
        Print("five");
        Print("six");
        var written = File.GetLastWriteTimeUtc(log);
        Assert.All(_api.PodLog(pod).Where(l => l.Line is "three" or "four" or "five" or "six"), l => Assert.True(l.At < written, $"'{l.Line}' is stamped {l.At:O}, before the log's mtime {written:O}"));

        await using var second = Driver();
        await second.AttachAsync(CancellationToken.None).WaitAsync(Long);
        await Eventually.Until(() => File.ReadAllText(log).Contains("six\n", StringComparison.Ordinal), Long, "the lines printed while no control plane copied them");
        Print("seven");
        await Eventually.Until(() => File.ReadAllText(log).Contains("seven\n", StringComparison.Ordinal), Long, "a line printed after the adoption");
        await Task.Delay(500);
        Assert.Equal(instance, second.BoundInstance(pod));
        Assert.Equal(string.Concat(printed.Select(l => l + "\n")), File.ReadAllText(log));
        Assert.Contains(_api.Requests.Where(r => r.Path == $"/api/v1/namespaces/shop/pods/{pod}/log"), r => r.Query.Contains("sinceTime=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFollowResumedAfterABreak_WithTheNodeClockAhead_LosesNothing()
    {
        // Counting sinceSeconds back from this machine's now would ask for too little when the node's clock is ahead; sinceTime is the node's own.
        _api.NodeClockOffset = TimeSpan.FromMinutes(3);
        await using var driver = Driver();
        driver.Start(Launch("web-1"));
        await AllReady(driver, 1, "the instance to be ready");
        var pod = PodOf(driver, "web-1");
        _api.PushLog(pod, "before the cut");
        await Eventually.Until(() => LogOf(driver, "web-1").Contains("before the cut\n", StringComparison.Ordinal), Long, "the first line copied");
        var log = await CutAndPrintAsync(driver, pod);
        Assert.Equal((1, 1, 1), (Occurrences(log, "before the cut"), Occurrences(log, "while cut"), Occurrences(log, "after the cut")));
    }
}
