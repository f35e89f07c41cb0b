namespace Flotilla.Tests.Functions;

/// <summary>
/// A queue-triggered function for the tests: each POSTed message is written to $OUT as a "start" and
/// an "end" line (message id, attempt, pid, unix ms), SLEEP_MS apart; a body starting with "fail" answers 500.
/// </summary>
internal static class QueueApp
{
    /// <summary>
    /// The output file, made before the function starts and writable by anyone: as root, each function runs as a Unix
    /// user of its own (Isolation/InstanceUsers), which may not create files in the test's directory.
    /// </summary>
    public static string Output(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        return path;
    }

    public const string Source = """
        import os, sys, time, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        lock = threading.Lock()
        def note(line):
            with lock:
                with open(os.environ["OUT"], "a") as f:
                    f.write(line + "\n")
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                mid, attempt = self.headers["X-Flotilla-Message-Id"], self.headers["X-Flotilla-Attempt"]
                note(f"start {mid} {attempt} {os.getpid()} {int(time.time() * 1000)} {body}")
                time.sleep(int(os.environ.get("SLEEP_MS", "0")) / 1000)
                note(f"end {mid} {attempt} {os.getpid()} {int(time.time() * 1000)} {body}")
                status = 500 if body.startswith("fail") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            def log_message(self, *args):
                pass
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """;

    /// <summary>The deliveries written to <paramref name="file"/>: per message id, its (start, end) times in unix ms (end null while running).</summary>
    public static Dictionary<long, List<(long Start, long? End, string Body)>> Deliveries(string file)
    {
        var deliveries = new Dictionary<long, List<(long Start, long? End, string Body)>>();
        if (!File.Exists(file))
        {
            return deliveries;
        }
        foreach (var line in File.ReadAllLines(file))
        {
            var parts = line.Split(' ', 6);
            if (parts.Length < 5)
            {
                continue;
            }
            var id = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            var at = long.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture);
            var list = deliveries.TryGetValue(id, out var existing) ? existing : deliveries[id] = [];
            if (parts[0] == "start")
            {
                list.Add((at, null, parts.Length > 5 ? parts[5] : ""));
            }
            else
            {
                var open = list.FindLastIndex(d => d.End is null);
                if (open >= 0)
                {
                    list[open] = list[open] with { End = at };
                }
            }
        }
        return deliveries;
    }
}
