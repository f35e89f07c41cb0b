namespace Flotilla.Flags;

/// <summary>OpenFeature's resolution reasons and error codes, as OFREP and flagd spell them.</summary>
public static class FlagReasons
{
    public const string Static = "STATIC";
    public const string TargetingMatch = "TARGETING_MATCH";
    public const string Default = "DEFAULT";
    public const string Disabled = "DISABLED";
    public const string Error = "ERROR";
}

public static class FlagErrors
{
    public const string FlagNotFound = "FLAG_NOT_FOUND";
    public const string ParseError = "PARSE_ERROR";
    public const string TargetingKeyMissing = "TARGETING_KEY_MISSING";
    public const string InvalidContext = "INVALID_CONTEXT";
    public const string TypeMismatch = "TYPE_MISMATCH";
    public const string General = "GENERAL";
}

/// <summary>
/// The outcome of evaluating one flag. Without <see cref="Variant"/> there is no value: the caller's
/// code default applies (a disabled flag, or no default variant and no rule matched), as OFREP's
/// code-default form says; with <see cref="ErrorCode"/> it failed.
/// </summary>
public sealed record FlagResolution(
    string Key,
    object? Value,
    string? Variant,
    string Reason,
    IReadOnlyDictionary<string, object?> Metadata,
    string? ErrorCode = null,
    string? ErrorDetails = null)
{
    public bool HasValue => Variant is not null && ErrorCode is null;

    public static FlagResolution Failed(string key, string code, string details, IReadOnlyDictionary<string, object?>? metadata = null) =>
        new(key, null, null, FlagReasons.Error, metadata ?? FlagSet.NoMetadata, code, details);
}
