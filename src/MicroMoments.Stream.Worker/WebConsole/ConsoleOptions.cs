namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>Configuration section <c>MicroMoments:Console</c>.</summary>
public sealed class ConsoleOptions
{
    public const string SectionName = "MicroMoments:Console";

    /// <summary>
    /// The token the console asks for when the HTTP server listens on any address other than loopback. Unset there:
    /// the console is off. On loopback only it is not asked for.
    /// </summary>
    public string? Token { get; set; }
}
