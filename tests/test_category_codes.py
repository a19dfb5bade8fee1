"""CategoryCodes: scikit-learn's encoders give the same numbers on its codes as on the text."""

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from dbmlib.models.category_codes import CategoryCodes


def _frames(dtype):
    rng = np.random.default_rng(4)
    levels = np.array([f"L{i:02d}" for i in range(40)] + ["b", "a", "Zz", "é"], dtype=object)
    p = rng.dirichlet(np.full(len(levels), 0.3))  # some levels frequent, many rare
    train = pd.DataFrame({"c": levels[rng.choice(len(levels), 3000, p=p)],
                          "d": rng.choice(np.array(["x", "y", None], dtype=object), 3000)})
    test = pd.DataFrame({"c": np.append(levels[rng.choice(len(levels), 997, p=p)], ["never", "seen", None]),
                         "d": rng.choice(np.array(["y", "x", None, "new"], dtype=object), 1000)})
    return train.astype(dtype), test.astype(dtype)


@pytest.mark.parametrize("dtype", [object, "string", "str"])
@pytest.mark.parametrize("encoder", [
    lambda: OneHotEncoder(handle_unknown="ignore", min_frequency=20),
    lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1,
                           max_categories=12),
])
def test_encoder_output_identical_on_codes(dtype, encoder):
    train, test = _frames(dtype)
    text = encoder().fit(train.astype(object).where(train.notna(), np.nan))
    coded = make_pipeline(CategoryCodes(), encoder()).fit(train)
    want = text.transform(test.astype(object).where(test.notna(), np.nan))
    got = coded.transform(test)
    want, got = (m.toarray() if hasattr(m, "toarray") else m for m in (want, got))
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(want, axis=0)) > 20  # a real encoding: many distinct rows
    assert (got == -1).any() if isinstance(text, OrdinalEncoder) else (got.sum(axis=1) < 2).any()  # unknowns met


def test_codes_are_ranks_missing_nan_unknown_minus_one():
    cc = CategoryCodes().fit(pd.DataFrame({"c": ["b", "a", None, "c", "a"]}, dtype="string"))
    assert cc.levels_ == [["a", "b", "c"]]
    got = cc.transform(pd.DataFrame({"c": ["c", "a", None, "q"]}, dtype="string"))[:, 0]
    np.testing.assert_array_equal(got, [2.0, 0.0, np.nan, -1.0])
    with pytest.raises(ValueError, match="fitted on 1"):
        cc.transform(pd.DataFrame({"c": ["a"], "d": ["b"]}))


@pytest.mark.parametrize("fit_dtype", [object, "str"])
def test_arrow_lookup_equals_the_categorical_codes(fit_dtype):
    """Arrow text takes Arrow's hash lookup; object text pandas' Categorical: the same codes,
    whichever dtype the model was fitted on."""
    train, test = _frames(fit_dtype)
    cc = CategoryCodes().fit(train)
    assert cc.levels_[0][:3] == ["L00", "L01", "L02"] and cc.levels_[0][-1] == "é"  # Python's order
    fast, slow = cc.transform(test.astype("str")), cc.transform(test.astype(object))
    want = np.column_stack([pd.Categorical(test[c], categories=lv).codes for c, lv in zip(test, cc.levels_)]).astype(float)
    want[test.isna().to_numpy()] = np.nan
    np.testing.assert_array_equal(fast, want)
    np.testing.assert_array_equal(slow, want)
    unseen = {c: (test[c].notna() & ~test[c].isin(set(train[c].dropna()))).sum() for c in test}
    assert unseen["c"] >= 2 and unseen["d"] == (test["d"] == "new").sum() > 200  # "never", "seen", "new"...
    assert (fast == -1).sum() == unseen["c"] + unseen["d"]
