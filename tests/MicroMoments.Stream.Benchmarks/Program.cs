using MicroMoments.Stream.Benchmarks;

return args.Contains("--scale-out") ? await ScaleOutBenchmark.RunAsync(args) : await BenchmarkRunner.RunAsync(args);
