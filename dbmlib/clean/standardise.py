"""Standardise contact fields and categorical spellings to one canonical form.

Each function is vectorised over a pandas Series and returns missing (``<NA>``) where a value
cannot be made valid, so the caller can count and report it.
"""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from ..core.fast_text import SPACE, arrow_text

__all__ = [
    "AGE_BANDS",
    "age_band",
    "canonical_category",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "normalise_postcode",
    "valid_email",
]

_EMAIL = re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}$")
AGE_BANDS = [(18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"),
             (55, 65, "55-64"), (65, 75, "65-74"), (75, 121, "75+")]


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.replace(f"[{SPACE}]+", " ", regex=True).replace("", pd.NA)


def normalise_email(s: pd.Series) -> pd.Series:
    """Trim and lower-case; spaces inside are removed."""
    return _text(s).str.replace(" ", "", regex=False).str.lower()


def valid_email(s: pd.Series) -> pd.Series:
    """Whether a normalised e-mail looks deliverable (``local@domain.tld``)."""
    return s.astype("string").str.match(_EMAIL).fillna(False).astype(bool)


#: A GB number written as 0 or +44 followed by a ten-digit national number (spaces,
#: brackets, dots and dashes aside): libphonenumber's E.164 form is ``+44`` + those digits
#: (checked for every leading digit; see the tests), so these skip the per-value parser.
_GB_TEN = re.compile(r"^(?:\+44|0)([1-9][0-9]{9})$")  # ASCII digits: Arrow's RE2 and Python agree


def _gb_national(compact: pd.Series) -> pd.Series:
    """The ten-digit national number of each :data:`_GB_TEN` cell (NA otherwise), by Arrow's
    regex kernel on Arrow text (pandas' ``str.extract`` runs Python's ``re`` a cell at a time).
    Digits are ASCII here; any other digit goes to libphonenumber, which reads it as a digit."""
    arrow = arrow_text(compact)
    if arrow is None:
        return compact.str.extract(_GB_TEN.pattern, expand=False)
    national = pc.struct_field(pc.extract_regex(arrow, r"^(?:\+44|0)(?P<n>[1-9][0-9]{9})$"), "n")
    return pd.Series(pd.arrays.ArrowStringArray(national.cast(pa.large_string())), index=compact.index).astype("string")


def normalise_phone(s: pd.Series, region: str = "GB") -> pd.Series:
    """E.164 form (``+447700900123``) via Google's libphonenumber; invalid numbers → NA.

    For ``region="GB"`` the common shape (national prefix 0 or +44, ten digits) is converted
    vectorised — the same result as libphonenumber, a hundred times faster on millions of
    rows; every other value goes through libphonenumber."""
    text = _text(s)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    if region == "GB":
        compact = text.str.replace(f"[{SPACE}().\\-]", "", regex=True)
        nsn = _gb_national(compact)
        fast = nsn.notna().to_numpy(bool)
        out[fast] = "+44" + nsn[fast]
        text = text[~fast]
    cache: dict[str, object] = {}

    def one(v):
        if v in cache:
            return cache[v]
        try:
            num = phonenumbers.parse(v, region)
            e164 = (phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_possible_number(num) else pd.NA)
        except phonenumbers.NumberParseException:
            e164 = pd.NA
        cache[v] = e164
        return e164

    out[text.index] = pd.Series([pd.NA if pd.isna(v) else one(v) for v in text.tolist()], index=text.index,
                                dtype="string")
    return out


def normalise_name(s: pd.Series) -> pd.Series:
    """Collapse spaces and title-case (``'  SMITH '`` → ``'Smith'``)."""
    return _text(s).str.title()


def normalise_postcode(s: pd.Series) -> pd.Series:
    """Upper-case UK-style postcode with one space before the inward code (``'l226qd'`` → ``'L22 6QD'``)."""
    compact = _text(s).str.upper().str.replace(" ", "", regex=False)
    return compact.str.slice(0, -3) + " " + compact.str.slice(-3)


def canonical_category(s: pd.Series, allowed: list[str], synonyms: dict[str, str] | None = None
                       ) -> tuple[pd.Series, pd.Series]:
    """Map spellings to canonical values; return (values, unknown_mask).

    Matching ignores case, spaces, hyphens and underscores; ``synonyms`` maps extra
    spellings (after the same folding) to an allowed value.
    """
    def fold(x: pd.Series) -> pd.Series:
        return x.astype("string").str.lower().str.replace(f"[{SPACE}_\\-]+", "", regex=True)

    lookup = {fold(pd.Series([a])).iloc[0]: a for a in allowed}
    lookup |= {fold(pd.Series([k])).iloc[0]: v for k, v in (synonyms or {}).items()}
    folded = fold(s)
    mapped = folded.map(lookup).astype("string")
    unknown = s.notna() & mapped.isna()
    return mapped, unknown.fillna(False).astype(bool)


def age_band(birth: pd.Series, at: pd.Timestamp) -> pd.Series:
    """Age band at date ``at``; ``unknown`` where the birth date is missing or impossible."""
    age = (at - birth).dt.days / 365.25
    out = pd.Series("unknown", index=birth.index, dtype="string")
    for lo, hi, label in AGE_BANDS:
        out[(age >= lo) & (age < hi)] = label
    return out
