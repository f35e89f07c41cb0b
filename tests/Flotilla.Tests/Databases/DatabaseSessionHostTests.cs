using Flotilla.Databases;

namespace Flotilla.Tests.Databases;

/// <summary>psql takes one host: the first of a multi-host string (what an engine with replicas injects), without its port.</summary>
public sealed class DatabaseSessionHostTests
{
    [Theory]
    [InlineData("127.0.0.1:5432,127.0.0.1:5433", "127.0.0.1")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("db.example:6432", "db.example")]
    [InlineData("::1", "::1")]
    [InlineData("[::1]:5432,[::1]:5433", "::1")]
    public void TheFirstHost_WithoutItsPort(string hosts, string expected) => Assert.Equal(expected, DatabaseSessions.FirstHost(hosts));
}
