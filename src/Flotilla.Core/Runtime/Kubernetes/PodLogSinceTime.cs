using System.Globalization;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Gives a pod log request the <c>sinceTime</c> parameter, which the API server takes but KubernetesClient
/// does not offer (its OpenAPI document omits it): the request carries the time in the <see cref="Header"/>
/// header, and this handler, in the client's pipeline, moves it into the query. <c>sinceTime</c>, not
/// <c>sinceSeconds</c>: the kubelet compares it with the lines' own stamps (the node's clock), whereas
/// <c>sinceSeconds</c> counts back from the node's now, which this machine can only guess.
/// </summary>
internal sealed class PodLogSinceTime : DelegatingHandler
{
    public const string Header = "Flotilla-Since-Time";

    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Headers(DateTimeOffset since) =>
        new Dictionary<string, IReadOnlyList<string>> { [Header] = [since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)] };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.TryGetValues(Header, out var values) && values.FirstOrDefault() is { } since && request.RequestUri is { } uri)
        {
            request.Headers.Remove(Header);
            var query = uri.Query.TrimStart('?');
            request.RequestUri = new UriBuilder(uri) { Query = (query.Length > 0 ? query + "&" : "") + "sinceTime=" + Uri.EscapeDataString(since) }.Uri;
        }
        return base.SendAsync(request, cancellationToken);
    }
}
