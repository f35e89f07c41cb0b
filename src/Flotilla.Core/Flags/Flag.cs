using System.Text.Json.Nodes;
using Flotilla.Flags.Logic;

namespace Flotilla.Flags;

/// <summary>
/// One compiled flag. The answers that do not depend on the context (disabled, static, the default,
/// each variant as a targeting match) are built once here, so an evaluation allocates nothing but
/// what its rule computes.
/// </summary>
public sealed class Flag
{
    private readonly LogicNode? _targeting;
    private readonly FlagResolution _whenDefault;
    private readonly FlagResolution _whenStatic;
    private readonly FlagResolution _whenDisabled;
    private readonly Dictionary<string, FlagResolution> _matches;

    internal Flag(string key, bool enabled, IReadOnlyDictionary<string, object?> variants, string? defaultVariant, LogicNode? targeting,
        JsonObject definition, IReadOnlyDictionary<string, object?> metadata)
    {
        Key = key;
        Enabled = enabled;
        Variants = variants;
        DefaultVariant = defaultVariant;
        _targeting = targeting;
        Definition = definition;
        Metadata = metadata;
        _whenDisabled = new FlagResolution(key, null, null, FlagReasons.Disabled, metadata);
        _whenDefault = defaultVariant is null
            ? new FlagResolution(key, null, null, FlagReasons.Default, metadata)
            : new FlagResolution(key, variants[defaultVariant], defaultVariant, FlagReasons.Default, metadata);
        _whenStatic = defaultVariant is null ? _whenDefault : _whenDefault with { Reason = FlagReasons.Static };
        _matches = variants.ToDictionary(v => v.Key, v => new FlagResolution(key, v.Value, v.Key, FlagReasons.TargetingMatch, metadata), StringComparer.Ordinal);
    }

    public string Key { get; }
    public bool Enabled { get; }
    public IReadOnlyDictionary<string, object?> Variants { get; }
    public string? DefaultVariant { get; }
    public bool HasTargeting => _targeting is not null;

    /// <summary>The flag as its file declares it (after <c>$ref</c>s were resolved), for display and changes.</summary>
    public JsonObject Definition { get; }

    public IReadOnlyDictionary<string, object?> Metadata { get; }

    public FlagResolution Evaluate(EvaluationContext context, long unixSeconds)
    {
        if (!Enabled)
        {
            return _whenDisabled;
        }
        if (_targeting is null)
        {
            return _whenStatic;
        }
        object? result;
        try
        {
            result = _targeting.Evaluate(new LogicScope(context.Values, Key, unixSeconds));
        }
        catch (RuleException e)
        {
            // flagd cannot run such a rule either (its JSON Logic engine fails on it): PARSE_ERROR, for this flag alone.
            return FlagResolution.Failed(Key, FlagErrors.ParseError, $"the targeting rule cannot be evaluated: {e.Message}", Metadata);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or InsufficientExecutionStackException))
        {
            // A rule's failure is this flag's GENERAL error, never the request's 500 or another flag's answer.
            return FlagResolution.Failed(Key, FlagErrors.General, $"the targeting rule failed: {e.Message}", Metadata);
        }
        if (result is null)
        {
            return _whenDefault;
        }
        // flagd takes the rule's result as a variant name: "on", true -> "true", 1 -> "1".
        var variant = result switch
        {
            string s => s,
            bool or double => LogicValue.ToText(result),
            _ => null,
        };
        if (variant is not null && _matches.TryGetValue(variant, out var match))
        {
            return match;
        }
        // flagd answers GENERAL ("invalid or missing variant") for a result that names no variant.
        return FlagResolution.Failed(Key, FlagErrors.General,
            $"the targeting rule returned {(variant is null ? LogicValue.KindOf(result) : $"'{variant}'")}, which is not a variant of '{Key}' (variants: {string.Join(", ", Variants.Keys)})", Metadata);
    }
}
