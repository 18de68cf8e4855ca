"""Demo section: the KDI transformation beside scikit-learn's scalers, on bundled data."""

from __future__ import annotations


def section(quick: bool = False):
    """KDI transformation vs QuantileTransformer / StandardScaler / MinMaxScaler (breast cancer,
    logistic regression, cross-validated accuracy)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

    from skspectral._demo import Row, Section, _timed

    from . import KernelDensityIntegralTransformer

    X, y = load_breast_cancer(return_X_y=True)
    cv = 3 if quick else 5
    methods = [
        ("KDI alpha=1", "skspectral", KernelDensityIntegralTransformer(alpha=1.0)),
        ("KDI alpha=0.1", "skspectral", KernelDensityIntegralTransformer(alpha=0.1)),
        ("QuantileTransformer", "scikit-learn", QuantileTransformer(n_quantiles=200)),
        ("StandardScaler", "scikit-learn", StandardScaler()),
        ("MinMaxScaler", "scikit-learn", MinMaxScaler()),
    ]
    out = Section(
        f"KDI transformation: breast cancer ({X.shape[0]} x {X.shape[1]}), logistic regression, "
        f"{cv}-fold accuracy"
    )
    for alpha in (1.0, 0.1):  # load the compiled kernels once, outside the timings
        KernelDensityIntegralTransformer(alpha=alpha).fit(X).transform(X)
    scores = {}
    for name, library, pre in methods:
        pipe = make_pipeline(pre, LogisticRegression(max_iter=2000))
        acc, seconds = _timed(lambda pipe=pipe: cross_val_score(pipe, X, y, cv=cv).mean())
        scores[name] = float(acc)
        out.rows.append(Row("preprocess + logreg", name, library, "accuracy", float(acc), seconds))

    def plot(ax):
        names = list(scores)
        ax.barh(names, [scores[n] for n in names],
                color=["C0" if "KDI" in n else "C7" for n in names])
        ax.set_xlim(min(scores.values()) - 0.02, 1.0)
        ax.set_xlabel("cross-validated accuracy")
        ax.set_title("Preprocessing before logistic regression")
        ax.grid(alpha=0.3, axis="x")

    out.plot = plot
    return out
