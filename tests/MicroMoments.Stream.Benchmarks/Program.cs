using MicroMoments.Stream.Benchmarks;

return await BenchmarkRunner.RunAsync(args);
