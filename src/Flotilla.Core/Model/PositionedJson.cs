using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flotilla.Model;

/// <summary>
/// Parses JSON into <see cref="JsonNode"/>s and remembers where each value starts, by path
/// (<c>flags.new-pricing.targeting.if[0]</c>), so a flag file's errors can name file, line and
/// column as the spec's do. JsonDocument keeps no positions; Utf8JsonReader gives byte offsets.
/// </summary>
internal static class PositionedJson
{
    public static JsonNode? Parse(string text, string file, Dictionary<string, SpecLocation> positions)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new SpecException([new SpecError(new SpecLocation(file, 1, 1), "", "the flag file is empty; it needs at least {\"flags\": {}}")]);
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = LineStarts(bytes);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = false });
        try
        {
            reader.Read();
            var root = ReadValue(ref reader, "", file, lines, positions);
            if (reader.Read())
            {
                throw new SpecException([new SpecError(Locate(file, lines, reader.TokenStartIndex), "", "malformed JSON: more than one value in the file")]);
            }
            return root;
        }
        catch (JsonException e)
        {
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            throw new SpecException([new SpecError(new SpecLocation(file, (int)(e.LineNumber ?? 0) + 1, (int)(e.BytePositionInLine ?? 0) + 1), "",
                $"malformed JSON: {(cut > 0 ? message[..cut] : message)}")]);
        }
    }

    /// <summary>The position recorded for <paramref name="path"/>, else for its nearest recorded ancestor.</summary>
    public static SpecLocation Find(IReadOnlyDictionary<string, SpecLocation> positions, string path, string file)
    {
        var probe = path;
        while (true)
        {
            if (positions.TryGetValue(probe, out var at))
            {
                return at;
            }
            if (probe.Length == 0)
            {
                return new SpecLocation(file, 0, 0);
            }
            var cut = Math.Max(probe.LastIndexOf('.'), probe.LastIndexOf('['));
            probe = cut <= 0 ? "" : probe[..cut];
        }
    }

    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static JsonNode? ReadValue(ref Utf8JsonReader reader, string path, string file, List<long> lines, Dictionary<string, SpecLocation> positions)
    {
        positions[path] = Locate(file, lines, reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsonObject();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var key = reader.GetString()!;
                    var keyAt = Locate(file, lines, reader.TokenStartIndex);
                    reader.Read();
                    var childPath = Child(path, key);
                    var value = ReadValue(ref reader, childPath, file, lines, positions);
                    if (obj.ContainsKey(key))
                    {
                        throw new SpecException([new SpecError(keyAt, childPath, $"key '{key}' appears twice in this object")]);
                    }
                    obj[key] = value;
                }
                return obj;
            case JsonTokenType.StartArray:
                var array = new JsonArray();
                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Add(ReadValue(ref reader, $"{path}[{index++}]", file, lines, positions));
                }
                return array;
            case JsonTokenType.String:
                return JsonValue.Create(reader.GetString());
            case JsonTokenType.Number:
                return JsonValue.Create(reader.GetDouble());
            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    private static List<long> LineStarts(byte[] bytes)
    {
        var starts = new List<long> { 0 };
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                starts.Add(i + 1);
            }
        }
        return starts;
    }

    private static SpecLocation Locate(string file, List<long> lines, long offset)
    {
        var line = lines.BinarySearch(offset);
        if (line < 0)
        {
            line = ~line - 1;
        }
        return new SpecLocation(file, line + 1, (int)(offset - lines[line]) + 1);
    }
}
