namespace Flotilla.Tests.Support;

/// <summary>Tests that start real processes run one class at a time: the machine has two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessHeavy
{
    public const string Name = "process-heavy";
}
