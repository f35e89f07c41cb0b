namespace Flotilla.Flags.Logic;

/// <summary>
/// A rule flagd's JSON Logic engine cannot run (an unknown operator, a <c>$ref</c> to no evaluator):
/// evaluating it is that flag's PARSE_ERROR, as in flagd, and never another flag's answer.
/// </summary>
internal sealed class RuleException(string message) : Exception(message);
