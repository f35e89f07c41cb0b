using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>
/// Concurrency policy Replace for real: a Python function that takes 60 s per run on a schedule
/// every 2 s. Each new occurrence must cut the run under way (the function sees its request closed)
/// and set its message aside as dead with the reason, and the new run starts.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class ScheduleReplaceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    // Notes "start ID", then waits up to 60 s watching its connection: closed by the caller, it notes
    // "aborted ID" and ends; else "end ID" and answers.
    private const string SlowApp = """
        import os, sys, time, select, socket, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        lock = threading.Lock()
        def note(line):
            with lock:
                with open(os.environ["OUT"], "a") as f:
                    f.write(line + "\n")
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                mid = self.headers["X-Flotilla-Message-Id"]
                note(f"start {mid}")
                deadline = time.time() + 60
                while time.time() < deadline:
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                        note(f"aborted {mid}")
                        self.close_connection = True
                        return
                note(f"end {mid}")
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            def log_message(self, *args):
                pass
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """;

    private static string[] Lines(string file) => File.Exists(file) ? File.ReadAllLines(file) : [];

    [Fact]
    public async Task Replace_CutsTheRunUnderWay_SetsItAside_AndStartsTheNewOne()
    {
        using var dir = new TempDirectory("flotilla-schedule-replace");
        dir.Write("fn/app.py", SlowApp);
        var output = QueueApp.Output(Path.Combine(dir.Path, "runs.txt"));   // writable by the function's own user
        var yaml = $$"""
            name: replace-test
            functions:
              slow:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Path.Combine(dir.Path, "fn")}}
                env: { OUT: "{{output}}" }
                trigger: { schedule: { cron: "*/2 * * * * *", concurrencyPolicy: Replace } }
                timeout: 90s
                hold: { budget: 10s }
            """;
        var file = Path.Combine(dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));
        try
        {
            await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
            // Two runs replaced: each was cut (the function saw it) and a later one started.
            // Waited for whole: the run that replaced the second cut one may start a moment after that one saw its abort.
            static long Id(string line) => long.Parse(line[(line.IndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            bool TwoCutAndReplaced()
            {
                var seen = Lines(output);
                var cut = seen.Where(l => l.StartsWith("aborted ", StringComparison.Ordinal)).Select(Id).ToList();
                return cut.Count >= 2 && seen.Any(l => l.StartsWith("start ", StringComparison.Ordinal) && Id(l) > cut.Max());
            }
            await Eventually.Until(TwoCutAndReplaced, Wait,
                $"two runs cut by the next occurrence, and a run after them; the function saw: {string.Join(" | ", Lines(output))}");
            var lines = Lines(output);
            Assert.DoesNotContain(lines, l => l.StartsWith("end ", StringComparison.Ordinal));
            var aborted = lines.Where(l => l.StartsWith("aborted ", StringComparison.Ordinal)).Select(l => long.Parse(l[8..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var dead = plane.Store.DeadMessages("slow.schedule", 100);
            foreach (var id in aborted)
            {
                var message = Assert.Single(dead, m => m.Id == id);
                Assert.StartsWith("replaced by the run of ", message.LastError, StringComparison.Ordinal);
                // A newer run started after it.
                Assert.Contains(lines, l => l.StartsWith("start ", StringComparison.Ordinal) && long.Parse(l[6..], System.Globalization.CultureInfo.InvariantCulture) > id);
            }
            Assert.Contains(plane.Events.Since(0), e => e.Subject == "slow" && e.Message.Contains("(concurrency policy Replace) (stopped and set aside: message", StringComparison.Ordinal));
            // Never more than one run at a time beyond the moment of the swap: at most one unfinished message.
            Assert.True(plane.Store.Unfinished("slow.schedule") <= 1, $"{plane.Store.Unfinished("slow.schedule")} unfinished runs");
        }
        finally
        {
            await plane.StopDataPlaneAsync();
            await plane.DisposeAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(dir.Path));
    }
}
