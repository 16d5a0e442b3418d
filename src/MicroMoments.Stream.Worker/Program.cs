using MicroMoments.Stream.Worker;

return await WorkerCommands.RunAsync(args);
