namespace Flotilla.Events;

/// <summary>
/// A controller's level-triggered loop: one look every <c>tick</c> until stopped. A look that throws is
/// recorded as a warning event under <c>subject</c> and the loop goes on: a failed pass must not end it.
/// </summary>
public static class RecordedLoop
{
    public static async Task RunAsync(Action look, TimeSpan tick, TimeProvider time, EventLog events, string subject, string what, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                look();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                events.Record(subject, $"{what} failed: {e.GetType().Name}: {e.Message}", warning: true);
            }
            try
            {
                await Task.Delay(tick, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
