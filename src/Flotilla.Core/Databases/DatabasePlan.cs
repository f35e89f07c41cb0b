namespace Flotilla.Databases;

/// <summary>What an apply does to databases before it records the revision: a step per service that has one, in spec order.</summary>
public sealed record DatabasePlan(IReadOnlyList<DatabaseStep> Steps)
{
    public IEnumerable<DatabaseStep> Refusals => Steps.Where(s => s.Refusal is not null);
}
