using Flotilla.Conditions;

namespace Flotilla.Controllers.GitOps;

/// <summary>One way what runs differs from the applied commit, with how to put it back.</summary>
internal sealed record GitOpsDrift(Condition Condition, Func<Task> Heal);
