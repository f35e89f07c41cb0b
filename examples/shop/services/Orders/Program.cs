// Orders: the front of the shop. It calls catalog, invoices and reviews through their stable
// endpoints, which Flotilla injects as services__<name>__http__0 (and <NAME>_URL).
using System.Text.Json.Nodes;

const string Version = "orders 1.0.0";
var instance = Environment.GetEnvironmentVariable("FLOTILLA_INSTANCE") ?? "local";
var builder = WebApplication.CreateBuilder(args);
foreach (var service in new[] { "catalog", "invoices", "reviews" })
{
    builder.Services.AddHttpClient(service, c => c.BaseAddress = new Uri(builder.Configuration[$"services:{service}:http:0"]
        ?? throw new InvalidOperationException($"services__{service}__http__0 is not set: run under Flotilla or set it")));
}
var app = builder.Build();
var orders = new Dictionary<int, (int ItemId, int Quantity)> { [1] = (1, 2), [2] = (3, 1), [3] = (2, 4) };

app.MapGet("/healthz", () => "ok");
app.MapGet("/ready", () => "ready");
app.MapGet("/", () => new { service = "orders", version = Version, instance });
app.MapGet("/orders/{id:int}", async (int id, IHttpClientFactory http) =>
{
    if (!orders.TryGetValue(id, out var order))
    {
        return Results.NotFound(new { error = $"no order {id}" });
    }
    var item = await http.CreateClient("catalog").GetFromJsonAsync<JsonObject>($"/items/{order.ItemId}");
    var price = item!["item"]!["price"]!.GetValue<decimal>();
    var invoice = await http.CreateClient("invoices").GetFromJsonAsync<JsonObject>($"/invoices/{id}?price={price}&quantity={order.Quantity}");
    var reviews = await http.CreateClient("reviews").GetFromJsonAsync<JsonObject>($"/reviews/{order.ItemId}");
    return Results.Ok(new { version = Version, instance, orderId = id, order.Quantity, item = item["item"], invoice, reviews = reviews!["reviews"] });
});
app.Run();
