using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads the schedule and files triggers of a function (<c>trigger: { schedule: ... }</c>, <c>trigger: { files: ... }</c>).</summary>
internal static class TriggerReader
{
    /// <summary><c>schedule: "*/5 * * * *"</c> (UTC), or <c>schedule: { cron: ..., timeZone: Europe/Paris, startingDeadline: 10m, concurrencyPolicy: Replace }</c>.</summary>
    public static ScheduleTrigger? ReadSchedule(SpecReader reader, YamlNode node, string path)
    {
        if (node is not YamlMappingNode)
        {
            return Cron(reader, node, path) is { } cron ? new ScheduleTrigger(cron) : null;
        }
        string? expression = null;
        var (zone, deadline, policy, valid) = ("UTC", (TimeSpan?)null, ConcurrencyPolicy.Forbid, true);
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Schedule))
        {
            var at = SpecReader.Join(path, key);
            switch (key)
            {
                case "cron":
                    expression = Cron(reader, value, at);
                    valid &= expression is not null;
                    break;
                case "timeZone":
                    if (reader.String(value, at) is { } id)
                    {
                        if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out _))
                        {
                            zone = id;
                        }
                        else
                        {
                            reader.Error(value, at, $"'{id}' is not a time zone this machine knows: give an IANA name such as 'UTC' or 'Europe/Paris'");
                            valid = false;
                        }
                    }
                    break;
                case "startingDeadline":
                    deadline = reader.Duration(value, at);
                    break;
                case "concurrencyPolicy":
                    if (reader.String(value, at) is { } name)
                    {
                        if (Enum.GetNames<ConcurrencyPolicy>().Contains(name, StringComparer.Ordinal))
                        {
                            policy = Enum.Parse<ConcurrencyPolicy>(name);
                        }
                        else
                        {
                            reader.Error(value, at, $"'{name}' is not a concurrency policy: give Forbid (skip an occurrence while the previous run is unfinished, the default), Allow (run beside it) or Replace (stop it and run the new one){SpecReader.Suggest(name, Enum.GetNames<ConcurrencyPolicy>())}");
                            valid = false;
                        }
                    }
                    break;
            }
        }
        if (expression is null && valid)
        {
            reader.Error(node, SpecReader.Join(path, "cron"), "missing: give the cron expression, e.g. 'cron: \"0 3 * * *\"'");
        }
        return expression is not null && valid ? new ScheduleTrigger(expression, zone, deadline, policy) : null;
    }

    private static string? Cron(SpecReader reader, YamlNode node, string path)
    {
        if (reader.String(node, path) is not { } text)
        {
            return null;
        }
        try
        {
            ScheduleTrigger.Parse(text);
            return text.Trim();
        }
        catch (Cronos.CronFormatException e)
        {
            reader.Error(node, path, $"'{text}' is not a cron expression ({e.Message.TrimEnd('.')}): give five fields 'minute hour day-of-month month day-of-week', e.g. '*/5 * * * *', or six with seconds first");
            return null;
        }
    }

    /// <summary><c>files: inbox/</c> (relative to the spec's directory), or <c>files: { directory: inbox/, settle: 2s }</c>.</summary>
    public static FileTrigger? ReadFiles(SpecReader reader, YamlNode node, string path, string directory)
    {
        if (node is not YamlMappingNode)
        {
            return Directory(reader, node, path, directory) is { } full ? new FileTrigger(full, FileTrigger.DefaultSettle) : null;
        }
        string? watched = null;
        var settle = FileTrigger.DefaultSettle;
        var given = false;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Files))
        {
            var at = SpecReader.Join(path, key);
            if (key == "directory")
            {
                given = true;
                watched = Directory(reader, value, at, directory);
            }
            else if (key == "settle")
            {
                settle = reader.Duration(value, at) ?? settle;
            }
        }
        if (!given)
        {
            reader.Error(node, SpecReader.Join(path, "directory"), "missing: give the watched directory, e.g. 'directory: inbox/'");
        }
        return watched is null ? null : new FileTrigger(watched, settle);
    }

    private static string? Directory(SpecReader reader, YamlNode node, string path, string directory)
    {
        if (reader.String(node, path) is not { } relative)
        {
            return null;
        }
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(directory, relative)));
        if (!System.IO.Directory.Exists(full))
        {
            reader.Error(node, path, $"'{relative}' is not a directory (looked for {full}): create it, or name the directory files are dropped in");
            return null;
        }
        return full;
    }
}
