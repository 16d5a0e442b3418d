using MicroMoments.Stream.Benchmarks;

return await PipelineBenchmark.RunAsync(args);
