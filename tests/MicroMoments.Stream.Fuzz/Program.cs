using MicroMoments.Stream.Fuzz;
using SharpFuzz;

// Usage: MicroMoments.Stream.Fuzz <events|rules|state> [--libfuzzer | --replay <file>...]
// Without a flag it serves afl-fuzz (SharpFuzz's out-of-process mode survives a stack overflow and reports it as a crash).
if (args.Length == 0 || args[0] is not ("events" or "rules" or "state"))
{
    Console.Error.WriteLine("usage: MicroMoments.Stream.Fuzz <events|rules|state> [--libfuzzer | --replay <file>...]");
    return 2;
}
var target = args[0];

if (args.Length > 2 && args[0] == "state" && args[1] == "--seeds")
{
    // Writes the state target's seeds: readable states in both stored forms, and every corrupt form of CorruptStates.
    Directory.CreateDirectory(args[2]);
    foreach (var (name, bytes) in FuzzTargets.StateSeeds())
    {
        File.WriteAllBytes(Path.Combine(args[2], name), bytes);
    }
    return 0;
}
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
    switch (target)
    {
        case "rules":
            FuzzTargets.Rules(input);
            break;
        case "state":
            FuzzTargets.State(input);
            break;
        default:
            FuzzTargets.Events(input);
            break;
    }
}
