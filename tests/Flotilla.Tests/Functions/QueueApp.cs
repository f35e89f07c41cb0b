namespace Flotilla.Tests.Functions;

/// <summary>
/// A queue-triggered function for the tests: each POSTed message is written to $OUT as a "start" and
/// an "end" line (message id, attempt, pid, unix ms, body), SLEEP_MS apart; a body starting with "fail" answers 500.
/// A delivery whose body starts with "long" ends only once RELEASE_FILE exists (RELEASE_SECONDS at most): a test
/// keeps deliveries running for as long as it needs them, not for a guessed time.
/// The delivery whose body is AWAIT_BODY first waits (AWAIT_SECONDS at most) until a delivery whose body starts with
/// AWAIT_PREFIX has started after it, and writes "met" or "gave-up": two deliveries that must run side by side, made to, so a
/// test of it does not hang on the scheduler's luck.
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
                    return f.tell()
        def await_start(prefix, after, deadline):
            # Only a start written after this delivery's own: one that began and ended before it does not count.
            while time.time() < deadline:
                with open(os.environ["OUT"]) as f:
                    f.seek(after)
                    if any(line.split(" ", 5)[0] == "start" and line.split(" ", 5)[-1].startswith(prefix) for line in f):
                        return True
                time.sleep(0.02)
            return False
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                mid, attempt = self.headers["X-Flotilla-Message-Id"], self.headers["X-Flotilla-Attempt"]
                started = note(f"start {mid} {attempt} {os.getpid()} {int(time.time() * 1000)} {body}")
                if body == os.environ.get("AWAIT_BODY"):
                    met = await_start(os.environ["AWAIT_PREFIX"], started, time.time() + float(os.environ.get("AWAIT_SECONDS", "45")))
                    note(f"{'met' if met else 'gave-up'} {mid} {attempt} {os.getpid()} {int(time.time() * 1000)} {body}")
                if body.startswith("long"):
                    deadline = time.time() + float(os.environ.get("RELEASE_SECONDS", "25"))
                    while not os.path.exists(os.environ["RELEASE_FILE"]) and time.time() < deadline:
                        time.sleep(0.05)
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

    /// <summary>One delivery as the function saw it: unix ms of its start and end (null while running or never written), the body, and the pid of the process that served it.</summary>
    public readonly record struct Delivery(long Start, long? End, string Body, int Pid)
    {
        public override string ToString() => $"({Start}, {End}, {Body}, pid {Pid})";
    }

    /// <summary>Whether the AWAIT_BODY delivery saw the AWAIT_PREFIX one start ("met"), gave up waiting ("gave-up"), or has not said yet (null).</summary>
    public static string? Awaited(string file) =>
        File.ReadAllLines(file).Select(line => line.Split(' ', 2)[0]).FirstOrDefault(word => word is "met" or "gave-up");

    /// <summary>The deliveries written to <paramref name="file"/>, per message id; an "end" line closes the open "start" of the same process.</summary>
    public static Dictionary<long, List<Delivery>> Deliveries(string file)
    {
        var deliveries = new Dictionary<long, List<Delivery>>();
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
            var pid = int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
            var at = long.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture);
            var list = deliveries.TryGetValue(id, out var existing) ? existing : deliveries[id] = [];
            if (parts[0] == "start")
            {
                list.Add(new Delivery(at, null, parts.Length > 5 ? parts[5] : "", pid));
            }
            else if (parts[0] == "end")
            {
                var open = list.FindLastIndex(d => d.End is null && d.Pid == pid);
                if (open >= 0)
                {
                    list[open] = list[open] with { End = at };
                }
            }
        }
        return deliveries;
    }
}
