#!/usr/bin/python3
"""Whether unsupervised dense document features can add to n-grams in a linear model on the fortune topics.

Usage: /usr/bin/python3 bench/topics_lsa_features.py   (needs scikit-learn: apt-get install python3-sklearn)

Issue 28 asks for encoder features that lift n-grams + SDCA. This measures the best-known unsupervised dense features
for that, latent semantic analysis: a truncated SVD of the n-gram matrix, fitted on the training rows only (no label,
so no stacking leak), each row's K values scaled to unit length and appended to the L2-normalised n-grams (word 1-2
grams of the whitespace tokens, lower-cased, and character 3-grams, tf-idf: close to FeaturizeText). scikit-learn's
LogisticRegression (no class weights, as SdcaMaximumEntropy at its defaults) at C = 10 and C = 100, K = 0 (n-grams
alone), 100 and 200. Macro accuracy on the test file and on three 80/20 splits of the training file (random_state
1-3). docs/components/bigru-encoder.md quotes it.
"""
from scipy.sparse import csr_matrix, hstack
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import normalize

from topics_linear_baselines import evaluation_sets


def ngrams(train, other):
    words = TfidfVectorizer(ngram_range=(1, 2), token_pattern=None, tokenizer=str.split)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(3, 3))
    fitted = normalize(hstack([words.fit_transform(train), chars.fit_transform(train)]).tocsr())
    return fitted, normalize(hstack([words.transform(other), chars.transform(other)]).tocsr())


def main():
    sets = evaluation_sets()
    print("macro accuracy, logistic regression on n-grams (+ K LSA dimensions, unit length)")
    print(f"{'C':>4} {'K':>4}" + "".join(f"{name:>11}" for name, *_ in sets))
    for c in (10, 100):
        for k in (0, 100, 200):
            cells = []
            for _, a, ya, b, yb in sets:
                fitted, other = ngrams(a, b)
                if k:
                    svd = TruncatedSVD(k, random_state=0).fit(fitted)
                    fitted = hstack([fitted, csr_matrix(normalize(svd.transform(fitted)))]).tocsr()
                    other = hstack([other, csr_matrix(normalize(svd.transform(other)))]).tocsr()
                model = LogisticRegression(C=c, max_iter=3000).fit(fitted, ya)
                cells.append(balanced_accuracy_score(yb, model.predict(other)))
            print(f"{c:>4} {k:>4}" + "".join(f"{x:>11.3f}" for x in cells))


if __name__ == "__main__":
    main()
