namespace Microsoft.ML.Rnn.Training;

/// <summary>
/// The folds of a cross-fitted component (out-of-fold scores, as scikit-learn's cross_val_predict over StratifiedKFold):
/// each class's rows, shuffled with the seed, are dealt to the folds in turn, so that every fold holds about 1/K of
/// every class and each fold's networks learn from every class.
/// </summary>
internal static class CrossFitting
{
    /// <summary>The fold (0 to <paramref name="folds"/> − 1) of each row, given its class.</summary>
    public static int[] StratifiedFolds(long[] classes, int folds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        var fold = new int[classes.Length];
        var random = new Random(unchecked(seed * 31 + 7));
        int next = 0;
        foreach (var rows in Enumerable.Range(0, classes.Length).GroupBy(r => classes[r]).OrderBy(g => g.Key).Select(g => g.ToArray()))
        {
            random.Shuffle(rows);
            foreach (int row in rows)
                fold[row] = next++ % folds;
        }
        return fold;
    }

    /// <summary>The rows outside <paramref name="fold"/>, in order: what that fold's networks learn from.</summary>
    public static int[] RowsOutside(int[] folds, int fold)
        => Enumerable.Range(0, folds.Length).Where(r => folds[r] != fold).ToArray();
}
