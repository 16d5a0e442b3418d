using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace MicroMoments.Stream.Worker.Segments;

/// <summary>
/// k-means with ML.NET's trainer over standardised feature vectors; returns the centroids. Deterministic: a fixed seed and one
/// thread (the trainer's parallel passes would otherwise add in a varying order), so the same file gives the same segments.
/// </summary>
internal static class KMeansClustering
{
    public const int Seed = 20261207;

    public static double[][] Centroids(IReadOnlyList<double[]> standardised, int k)
    {
        var dimensions = standardised[0].Length;
        var ml = new MLContext(seed: Seed);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimensions);
        var data = ml.Data.LoadFromEnumerable(standardised.Select(x => new Row { Features = [.. x.Select(v => (float)v)] }), schema);
        var trainer = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
        {
            FeatureColumnName = nameof(Row.Features),
            NumberOfClusters = k,
            NumberOfThreads = 1,
            InitializationAlgorithm = KMeansTrainer.InitializationAlgorithm.KMeansPlusPlus,
            MaximumNumberOfIterations = 1000,
            OptimizationTolerance = 1e-7f,
        });
        var model = trainer.Fit(data).Model;
        VBuffer<float>[] centroids = [];
        model.GetClusterCentroids(ref centroids, out var found);
        return [.. centroids.Take(found).Select(c => c.DenseValues().Select(v => (double)v).ToArray())];
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }
}
