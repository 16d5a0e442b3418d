using MicroMoments.Stream.Fuzz;
using SharpFuzz;

// Usage: MicroMoments.Stream.Fuzz <events|rules> [--libfuzzer | --replay <file>...]
// Without a flag it serves afl-fuzz (SharpFuzz's out-of-process mode survives a stack overflow and reports it as a crash).
if (args.Length == 0 || (args[0] != "events" && args[0] != "rules"))
{
    Console.Error.WriteLine("usage: MicroMoments.Stream.Fuzz <events|rules> [--libfuzzer | --replay <file>...]");
    return 2;
}
var rules = args[0] == "rules";

if (args.Length > 1 && args[1] == "--replay")
{
    var failed = 0;
    foreach (var file in args.Skip(2))
    {
        try
        {
            Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok   {file}");
        }
        catch (Exception ex)
        {
            failed++;
            Console.WriteLine($"FAIL {file}: {ex}");
        }
    }
    return failed == 0 ? 0 : 1;
}
if (args.Length > 1 && args[1] == "--libfuzzer")
{
    Fuzzer.LibFuzzer.Run(span => Run(span));
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;

void Run(ReadOnlySpan<byte> input)
{
    if (rules)
    {
        FuzzTargets.Rules(input);
    }
    else
    {
        FuzzTargets.Events(input);
    }
}
