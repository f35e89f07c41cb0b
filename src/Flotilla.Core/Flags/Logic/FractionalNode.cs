using System.Buffers;
using System.Text;

namespace Flotilla.Flags.Logic;

/// <summary>
/// flagd's <c>fractional</c>: a sticky pseudo-random split, run as flagd's current evaluator runs it.
/// Its evaluated arguments are read in order: a first string is the bucketing value; a first null
/// is dropped; otherwise the flag key followed by the context's targeting key is hashed (no
/// targeting key: null). The rest are buckets <c>[variant, weight]</c>: a missing or null weight is
/// 1, a negative one counts as 0, a fractional one or a total above 2^31-1 makes the whole split
/// null, and so does a total of 0. The hash h (MurmurHash3 x86 32-bit, seed 0, UTF-8) falls in the
/// bucket at (h × total) >> 32. When the buckets are literals (the usual case) they are read once,
/// at load, so an evaluation allocates nothing.
/// </summary>
internal sealed class FractionalNode(LogicNode[]? items, LogicNode? single) : LogicNode
{
    /// <summary>The buckets when every item is a literal bucket (then the targeting key decides).</summary>
    private readonly FractionalBucket[]? _allBuckets = items is { Length: > 0 } && items.All(i => i is LiteralNode { Value: object?[] }) ? Literal(items) : null;

    /// <summary>The buckets after the first item when those are literals (the first is then the bucketing value, or null).</summary>
    private readonly FractionalBucket[]? _tailBuckets = items is { Length: > 0 } && items[0] is not LiteralNode { Value: object?[] } && items.Skip(1).All(i => i is LiteralNode)
        ? Literal(items[1..])
        : null;

    public override object? Evaluate(in LogicScope scope)
    {
        if (items is null)
        {
            return single!.Evaluate(scope) is object?[] list ? Split(list, scope) : null;
        }
        if (_allBuckets is not null)
        {
            return ByTargetingKey(_allBuckets, scope);
        }
        if (_tailBuckets is not null)
        {
            switch (items[0].Evaluate(scope))
            {
                case string bucketBy:
                    return Pick(_tailBuckets, Hash(bucketBy, ""));
                case null:
                    return ByTargetingKey(_tailBuckets, scope);
            }
        }
        var values = new object?[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            values[i] = items[i].Evaluate(scope);
        }
        return Split(values, scope);
    }

    private static object? Split(object?[] values, in LogicScope scope)
    {
        if (values.Length == 0)
        {
            return null;
        }
        if (values[0] is string bucketBy)
        {
            return Buckets(values.AsSpan(1), out _) is { } given ? Pick(given, Hash(bucketBy, "")) : null;
        }
        var rest = values.AsSpan(values[0] is null ? 1 : 0);
        return Buckets(rest, out _) is { } buckets ? ByTargetingKey(buckets, scope) : null;
    }

    private static object? ByTargetingKey(IReadOnlyList<FractionalBucket> buckets, in LogicScope scope) =>
        scope.Root is IReadOnlyDictionary<string, object?> root && root.TryGetValue("targetingKey", out var key) && key is string { Length: > 0 } targetingKey
            ? Pick(buckets, Hash(scope.FlagKey, targetingKey))
            : null;

    private static FractionalBucket[]? Literal(LogicNode[] literals)
    {
        var values = literals.Select(l => ((LiteralNode)l).Value).ToArray();
        return Buckets(values, out _);
    }

    /// <summary>The buckets of evaluated arguments as flagd reads them, or null with the reason when flagd answers null for them.</summary>
    public static FractionalBucket[]? Buckets(ReadOnlySpan<object?> values, out string? problem)
    {
        var buckets = new FractionalBucket[values.Length];
        long total = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is not object?[] { Length: > 0 } bucket)
            {
                problem = "each bucket is a list: [variant, weight]";
                return null;
            }
            if (bucket[0] is not (string or bool or double or null))
            {
                problem = "a bucket's first item is the variant: a string, boolean, number or null";
                return null;
            }
            long weight = 1;
            if (bucket.Length > 1 && bucket[1] is not null)
            {
                if (bucket[1] is not double d || d != Math.Truncate(d) || Math.Abs(d) >= 9.2e18)
                {
                    problem = "a bucket's weight is a whole number";
                    return null;
                }
                if (d > int.MaxValue)
                {
                    problem = $"a bucket's weight is at most {int.MaxValue}";
                    return null;
                }
                weight = Math.Max(0, (long)d);
            }
            total += weight;
            buckets[i] = new FractionalBucket(bucket[0], (int)weight);
        }
        if (total > int.MaxValue)
        {
            problem = $"the weights add up to {total}, more than {int.MaxValue}";
            return null;
        }
        problem = null;
        return buckets;
    }

    /// <summary>The variant of the bucket the hash falls in; null when the weights add up to 0 (nothing to pick).</summary>
    public static object? Pick(IReadOnlyList<FractionalBucket> buckets, uint hash)
    {
        ulong total = 0;
        foreach (var bucket in buckets)
        {
            total += (ulong)bucket.Weight;
        }
        var point = ((ulong)hash * total) >> 32;
        ulong end = 0;
        foreach (var bucket in buckets)
        {
            end += (ulong)bucket.Weight;
            if (point < end)
            {
                return bucket.Variant;
            }
        }
        return null;
    }

    /// <summary>MurmurHash3 of the UTF-8 bytes of <paramref name="a"/> followed by <paramref name="b"/>, without building the string.</summary>
    public static uint Hash(string a, string b)
    {
        var max = Encoding.UTF8.GetMaxByteCount(a.Length + b.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var written = Encoding.UTF8.GetBytes(a, buffer);
            written += Encoding.UTF8.GetBytes(b, buffer[written..]);
            return MurmurHash3.Hash32(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
