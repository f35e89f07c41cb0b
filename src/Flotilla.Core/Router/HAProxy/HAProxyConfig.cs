using System.Text;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The haproxy.cfg of Flotilla's HAProxy engine: a frontend per endpoint on its port (loopback, as
/// the embedded router), a backend per endpoint with the servers of every revision, and the retry
/// policy (nginx's <c>proxy_next_upstream error timeout</c>: see the README). Written whole at
/// start and when endpoints come or go (a reload); servers and weights then change through the
/// runtime API, and the next reload writes them as they stand. Pure.
/// </summary>
internal static class HAProxyConfig
{
    public static string Frontend(string endpoint) => $"fe_{endpoint}";

    public static string Backend(string endpoint) => $"be_{endpoint}";

    /// <param name="descriptors">
    /// Each endpoint's listening socket as the master inherited it (<c>bind fd@N</c>: Flotilla holds it, see
    /// <see cref="EndpointSockets"/>); an endpoint without one (a master a control plane before this one started)
    /// binds its port itself.
    /// </param>
    public static string Render(string directory, IReadOnlyDictionary<string, int> endpoints, IReadOnlyDictionary<string, IReadOnlyList<ServerPlan>> servers, IReadOnlyDictionary<string, int> descriptors)
    {
        var text = new StringBuilder();
        text.Append($"""
            # Written by Flotilla (router engine haproxy); rewritten when endpoints change. Do not edit.
            global
                master-worker
                stats socket {Path.Combine(directory, "admin.sock")} mode 600 level admin expose-fd listeners
                maxconn 4096
                # A worker replaced by a reload finishes its requests, for at most this long.
                hard-stop-after 120s

            defaults
                mode http
                timeout connect 5s
                timeout client 100s
                timeout server 100s
                timeout http-request 30s
                timeout http-keep-alive 30s
                timeout queue 5s
                # 3 attempts in all, each on another instance: a connection refused or reset before
                # anything was sent (any method), a connection closed with no answer or no answer
                # within the server timeout (idempotent methods only, as nginx's proxy_next_upstream).
                retries 2
                retry-on conn-failure empty-response response-timeout
                option redispatch 1


            """);
        foreach (var (endpoint, port) in endpoints.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append($"""
                frontend {Frontend(endpoint)}
                    bind {(descriptors.TryGetValue(endpoint, out var fd) ? $"fd@{fd}" : $"127.0.0.1:{port}")}
                    default_backend {Backend(endpoint)}

                backend {Backend(endpoint)}
                    balance roundrobin
                    http-request disable-l7-retry unless METH_GET or METH_HEAD or METH_OPTIONS or METH_TRACE or METH_PUT or METH_DELETE

                """);
            foreach (var server in servers.GetValueOrDefault(endpoint) ?? [])
            {
                text.Append($"    server {server.Name} {server.Address} weight {server.Weight}\n");
            }
            text.Append('\n');
        }
        return text.ToString();
    }
}
