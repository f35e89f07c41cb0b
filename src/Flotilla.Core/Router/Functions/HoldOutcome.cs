namespace Flotilla.Router.Functions;

/// <summary>How a held request ended: an instance became ready, too many were held already, or the start budget ran out.</summary>
internal enum HoldOutcome
{
    Ready,
    TooManyPending,
    BudgetSpent,
}
