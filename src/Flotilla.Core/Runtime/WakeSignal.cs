namespace Flotilla.Runtime;

/// <summary>
/// A level-triggered wake-up: any number of <see cref="Set"/> calls before the next wait
/// collapse into one. It carries no data; the woken loop re-reads the whole state.
/// </summary>
public sealed class WakeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref _next).TrySetResult();

    /// <summary>Waits for a <see cref="Set"/> since the last wait, or the timeout; never throws on timeout.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _next);
        if (!current.Task.IsCompleted)
        {
            using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var timer = Task.Delay(timeout, delay.Token);
            if (await Task.WhenAny(current.Task, timer) == timer)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return;
            }
            await delay.CancelAsync();
        }
        Interlocked.CompareExchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
    }
}
