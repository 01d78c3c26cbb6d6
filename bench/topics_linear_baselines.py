#!/usr/bin/python3
"""What a regularised linear model reaches on the fortune topics, and which of its features matter.

Usage: /usr/bin/python3 bench/topics_linear_baselines.py   (needs scikit-learn: apt-get install python3-sklearn)

scikit-learn's LogisticRegression (C = 1, class_weight="balanced") on one feature set at a time, each L2-normalised:
word 1-2-gram counts, word 1-2-gram tf-idf, word tf-idf, character 3-gram tf-idf, character 3-gram counts, and tf-idf
on three readings of the tokens ML.NET's TokenizeIntoWords gives (split at spaces, so punctuation and case stay): the
tokens as they are, split at punctuation, and split at punctuation and lower-cased (the classifier's word bag reads
runs of letters and digits, lower-cased; [^\W_]+ is Python's nearest expression). Prints
macro accuracy (balanced accuracy: the mean of the topics' recalls) on the test file, trained on the training file,
and on three 80/20 splits of the training file (scikit-learn's train_test_split, random_state 1-3; not the rows of
ML.NET's TrainTestSplit). docs/components/sequence-classifier.md quotes it.
"""
import re
from pathlib import Path

from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import normalize

DATA = Path(__file__).resolve().parent.parent / "data"
WORD = re.compile(r"[^\W_]+")


def load(name):
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()[1:]  # header: Label<TAB>Text
    rows = [line.split("\t", 1) for line in lines]
    return [r[1] for r in rows], [r[0] for r in rows]


FEATURES = {
    "word 1-2 counts": lambda: CountVectorizer(ngram_range=(1, 2)),
    "word 1-2 tf-idf": lambda: TfidfVectorizer(ngram_range=(1, 2)),
    "word tf-idf": lambda: TfidfVectorizer(ngram_range=(1, 1)),
    "char 3 tf-idf": lambda: TfidfVectorizer(analyzer="char", ngram_range=(3, 3)),
    "char 3 counts": lambda: CountVectorizer(analyzer="char", ngram_range=(3, 3)),
    "tokens tf-idf": lambda: TfidfVectorizer(lowercase=False, token_pattern=None, tokenizer=str.split),
    "pieces tf-idf": lambda: TfidfVectorizer(lowercase=False, token_pattern=None, tokenizer=WORD.findall),
    "lower pieces tf-idf": lambda: TfidfVectorizer(lowercase=True, token_pattern=None, tokenizer=WORD.findall),
}


def evaluation_sets():
    """(name, train texts, train labels, evaluation texts, evaluation labels): the test file, then three 80/20 splits."""
    train_x, train_y = load("fortune-topics-train.tsv")
    test_x, test_y = load("fortune-topics-test.tsv")
    sets = [("test file", train_x, train_y, test_x, test_y)]
    for seed in (1, 2, 3):
        a, b, ya, yb = train_test_split(train_x, train_y, test_size=0.2, random_state=seed)
        sets.append((f"split {seed}", a, ya, b, yb))
    return sets


def main():
    sets = evaluation_sets()
    print("macro accuracy, logistic regression (C = 1, balanced class weights)")
    print(f"{'features':<20}" + "".join(f"{name:>11}" for name, *_ in sets))
    for feature, make in FEATURES.items():
        cells = []
        for _, a, ya, b, yb in sets:
            vectorizer = make()
            fitted = vectorizer.fit_transform(a)
            model = LogisticRegression(C=1, class_weight="balanced", max_iter=3000).fit(normalize(fitted), ya)
            cells.append(balanced_accuracy_score(yb, model.predict(normalize(vectorizer.transform(b)))))
        print(f"{feature:<20}" + "".join(f"{c:>11.3f}" for c in cells))


if __name__ == "__main__":
    main()
