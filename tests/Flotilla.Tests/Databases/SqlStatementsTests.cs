using Flotilla.Databases;

namespace Flotilla.Tests.Databases;

/// <summary>A migration's statements and where each starts; ';' inside quotes, names, dollar quotes and comments is not a split.</summary>
public sealed class SqlStatementsTests
{
    [Fact]
    public void Split_KeepsWhatHidesASemicolon()
    {
        var sql = "-- header; not a statement\nCREATE TABLE \"a;b\" (t text DEFAULT 'x;''y');\n/* c; */ SELECT 1;\n" +
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT $1x;\nSELECT 2";
        var statements = SqlStatements.Split(sql);
        Assert.Equal(
        [
            "-- header; not a statement\nCREATE TABLE \"a;b\" (t text DEFAULT 'x;''y')",
            "/* c; */ SELECT 1",
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
            "SELECT $1x",
            "SELECT 2",
        ], statements.Select(s => s.Text));
        Assert.Equal(sql.IndexOf("/* c", StringComparison.Ordinal), statements[1].Offset);
    }

    [Fact]
    public void Split_OfOnlyComments_IsEmpty()
    {
        Assert.Empty(SqlStatements.Split("-- flotilla: contract\n\n-- nothing yet\n"));
    }
}
