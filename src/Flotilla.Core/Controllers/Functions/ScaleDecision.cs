namespace Flotilla.Controllers.Functions;

/// <summary>The autoscaler's answer for one function: the count to run, what to remember, and why (said in the events when the count changes).</summary>
public sealed record ScaleDecision(int Desired, FunctionScaleState State, string Reason);
