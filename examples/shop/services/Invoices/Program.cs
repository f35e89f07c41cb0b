// Invoices: computes the invoice of an order (price × quantity plus VAT).
const string Version = "invoices 1.0.0";
const decimal VatRate = 0.20m;
var instance = Environment.GetEnvironmentVariable("FLOTILLA_INSTANCE") ?? "local";

var app = WebApplication.CreateBuilder(args).Build();
app.MapGet("/healthz", () => "ok");
app.MapGet("/ready", () => "ready");
app.MapGet("/", () => new { service = "invoices", version = Version, instance });
app.MapGet("/invoices/{orderId:long}", (long orderId, decimal price, int quantity) =>
{
    var net = price * quantity;
    return new { version = Version, instance, orderId, net, vat = Math.Round(net * VatRate, 2), total = Math.Round(net * (1 + VatRate), 2) };
});
app.Run();
