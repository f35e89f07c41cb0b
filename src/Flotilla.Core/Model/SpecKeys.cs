namespace Flotilla.Model;

/// <summary>
/// The keys valid at each level of flotilla.yaml. The JSON Schema in schema/ lists the same
/// keys; a test keeps the two in step.
/// </summary>
public static class SpecKeys
{
    public static readonly string[] Root = ["name", "runtime", "zones", "engines", "services", "environments", "flags", "functions", "clusters", "release"];
    public static readonly string[] Service = ["build", "command", "image", "files", "instances", "http", "env", "resources", "dependsOn", "references", "timeouts", "restart", "rollout", "secrets", "database"];
    public static readonly string[] Function = ["build", "command", "image", "files", "http", "env", "references", "timeouts", "restart", "rollout", "secrets", "trigger", "scale", "timeout", "memory", "hold", "retry"];
    public static readonly string[] Trigger = ["http", "queue", "files", "schedule"];
    public static readonly string[] Schedule = ["cron", "timeZone", "startingDeadline", "concurrencyPolicy"];
    public static readonly string[] Files = ["directory", "settle"];
    public static readonly string[] Scale = ["min", "max", "concurrency", "idle"];
    public static readonly string[] Hold = ["pending", "budget"];
    public static readonly string[] Retry = ["attempts", "backoff", "maxBackoff"];
    public static readonly string[] Secret = ["store", "file", "as"];
    public static readonly string[] Database = ["engine", "migrations", "name"];
    public static readonly string[] Engine = ["kind", "replicas", "external", "failover"];
    public static readonly string[] ExternalEngine = ["secret"];
    public static readonly string[] Http = ["port", "health", "ready"];
    public static readonly string[] Resources = ["cpu", "memory"];
    public static readonly string[] Timeouts = ["start", "drain", "stop"];
    public static readonly string[] Restart = ["backoff", "maxBackoff"];
    public static readonly string[] Rollout =
    [
        "strategy", "maxSurge", "maxUnavailable", "minReady", "progressDeadline", "history",
        "steps", "match", "stickyHeader", "dynamicStableScale",
        "preview", "autoPromote", "scaleDownDelay", "prePromotionAnalysis", "postPromotionAnalysis",
        "parallel",
    ];
    public static readonly string[] Parallel =
    [
        "sample", "methods", "mirrorWrites", "duration", "requests", "minRequests", "maxMismatchRate",
        "headers", "ignore", "arrays", "maxBodyBytes", "autoPromote",
    ];
    public static readonly string[] CanaryStep = ["weight", "pause", "analysis", "parallel"];
    public static readonly string[] Pause = ["duration"];
    public static readonly string[] Match = ["header", "cookie", "value"];
    public static readonly string[] Analysis = ["interval", "count", "failureLimit", "minRequests", "successRate", "p50", "p95", "p99", "compare", "webhooks", "baseline"];
    public static readonly string[] Compare = ["p95", "successRate", "rankTest"];
    public static readonly string[] Webhook = ["url", "timeout"];
    public static readonly string[] Environment = ["runtime", "instances", "zones", "env", "engines", "services", "flags", "portOffset"];
    public static readonly string[] Cluster = ["name", "kind", "endpoint", "context", "namespace", "kubeconfig", "instances", "zones", "env", "services", "portOffset"];
    public static readonly string[] Release = ["clusters", "deadline"];
    public static readonly string[] Flags = ["file", "port", "strict"];
    public static readonly string[] ServiceOverlay = ["instances", "env", "resources", "database"];
    public static readonly string[] DatabaseOverlay = ["engine"];
}
