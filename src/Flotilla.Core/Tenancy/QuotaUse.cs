namespace Flotilla.Tenancy;

/// <summary>What a tenant's instances take (or would take): instances of services, CPU and memory they declare, functions' maximum instances.</summary>
public sealed record QuotaUse(int Instances, double Cpu, long MemoryBytes, int FunctionInstances)
{
    public static QuotaUse Zero { get; } = new(0, 0, 0, 0);

    public static QuotaUse operator +(QuotaUse a, QuotaUse b) =>
        new(a.Instances + b.Instances, a.Cpu + b.Cpu, a.MemoryBytes + b.MemoryBytes, a.FunctionInstances + b.FunctionInstances);

    public static QuotaUse operator -(QuotaUse a, QuotaUse b) =>
        new(a.Instances - b.Instances, a.Cpu - b.Cpu, a.MemoryBytes - b.MemoryBytes, a.FunctionInstances - b.FunctionInstances);

    /// <summary>The larger of each: what a cluster runs now or what it was promised, whichever takes more.</summary>
    public static QuotaUse Max(QuotaUse a, QuotaUse b) =>
        new(Math.Max(a.Instances, b.Instances), Math.Max(a.Cpu, b.Cpu), Math.Max(a.MemoryBytes, b.MemoryBytes), Math.Max(a.FunctionInstances, b.FunctionInstances));
}
