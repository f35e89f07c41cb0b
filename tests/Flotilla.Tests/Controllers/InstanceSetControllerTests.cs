using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Controllers;

/// <summary>The controller loop with a scriptable driver: what it does when the runtime misbehaves.</summary>
public sealed class InstanceSetControllerTests
{
    /// <summary>A runtime whose instances are ready at once, and whose next starts can be made to throw.</summary>
    private sealed class ScriptedDriver : IRuntimeDriver
    {
        private readonly Lock _gate = new();
        private readonly List<InstanceStatus> _instances = [];
        public int FailingStarts;

        public WakeSignal Changed { get; } = new();

        public IReadOnlyList<InstanceStatus> Observe()
        {
            lock (_gate)
            {
                return _instances.ToList();
            }
        }

        public void Start(InstanceLaunch launch)
        {
            if (Interlocked.Decrement(ref FailingStarts) >= 0)
            {
                throw new IOException("runtime unavailable");
            }
            lock (_gate)
            {
                _instances.Add(new InstanceStatus(launch.Id, launch.Service, launch.Revision, 1, null, launch.Port, InstanceState.Ready,
                    DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, true, false, null, null, "/dev/null"));
            }
            Changed.Set();
        }

        public Task StopAsync(string instanceId, TimeSpan grace, string reason)
        {
            lock (_gate)
            {
                var i = _instances.FindIndex(s => s.Id == instanceId);
                _instances[i] = _instances[i] with { State = InstanceState.Exited, StopRequested = true };
            }
            Changed.Set();
            return Task.CompletedTask;
        }

        public void Forget(string instanceId)
        {
            lock (_gate)
            {
                _instances.RemoveAll(s => s.Id == instanceId);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task FailedPass_IsReportedAsAnEvent_AndTheLoopKeepsConverging()
    {
        var driver = new ScriptedDriver { FailingStarts = 1 };
        await using var router = new RouterHost();
        var events = new EventLog(TimeProvider.System);
        var controller = new InstanceSetController(driver, router, events);
        controller.SetDesired([new DesiredService("api", "rev1", 2, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null),
            TimeoutsSpec.Default, RestartSpec.Default, [])]);
        controller.Start();
        try
        {
            await Eventually.Until(() => driver.Observe().Count(i => i.State == InstanceState.Ready) == 2, TimeSpan.FromSeconds(20), "two instances despite the failed pass");
            Assert.Contains(events.Since(0), e => e.Subject == "controller" && e.Message.Contains("runtime unavailable", StringComparison.Ordinal));
        }
        finally
        {
            await controller.StopAllAsync();
        }
        Assert.All(driver.Observe(), i => Assert.Equal(InstanceState.Exited, i.State));
    }
}
