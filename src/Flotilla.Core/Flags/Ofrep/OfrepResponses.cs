using System.Buffers;
using System.Text.Json;
using Flotilla.Flags.Logic;

namespace Flotilla.Flags.Ofrep;

/// <summary>
/// OFREP's response bodies (open-feature/protocol service/openapi.yaml), written straight to
/// UTF-8: a success carries key, value, reason, variant and metadata; a result without a value
/// (a disabled flag, no default variant) omits value and variant, the protocol's code-default
/// form; a failure carries key, errorCode and errorDetails.
/// </summary>
public static class OfrepResponses
{
    /// <summary>The HTTP status OFREP gives a single evaluation: 200, 404 for an unknown flag, 400 for the other errors.</summary>
    public static int StatusOf(FlagResolution result) => result.ErrorCode switch
    {
        null => 200,
        FlagErrors.FlagNotFound => 404,
        _ => 400,
    };

    public static void WriteSingle(IBufferWriter<byte> output, FlagResolution result)
    {
        using var writer = new Utf8JsonWriter(output);
        Write(writer, result);
    }

    public static void WriteBulk(IBufferWriter<byte> output, IReadOnlyList<FlagResolution> results)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteStartArray("flags");
        foreach (var result in results)
        {
            Write(writer, result);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>A request-wide failure (a bad context): no key, as the bulk endpoint answers it.</summary>
    public static void WriteFailure(IBufferWriter<byte> output, string? key, string code, string details)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        if (key is not null)
        {
            writer.WriteString("key", key);
        }
        writer.WriteString("errorCode", code);
        writer.WriteString("errorDetails", details);
        writer.WriteEndObject();
    }

    private static void Write(Utf8JsonWriter writer, FlagResolution result)
    {
        writer.WriteStartObject();
        writer.WriteString("key", result.Key);
        if (result.ErrorCode is { } code)
        {
            writer.WriteString("errorCode", code);
            writer.WriteString("errorDetails", result.ErrorDetails);
        }
        else
        {
            if (result.Variant is { } variant)
            {
                writer.WritePropertyName("value");
                LogicValue.Write(writer, result.Value);
                writer.WriteString("variant", variant);
            }
            writer.WriteString("reason", result.Reason);
        }
        writer.WritePropertyName("metadata");
        LogicValue.Write(writer, result.Metadata);
        writer.WriteEndObject();
    }
}
