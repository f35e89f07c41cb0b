namespace Flotilla.Flags.Logic;

/// <summary>One bucket of a fractional split: the value it yields and its whole-number weight (0 or more).</summary>
internal sealed record FractionalBucket(object? Variant, int Weight);
