"""Cached wrappers around slow core calls. Caching lives here, never in core."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import sample_data
from core.io import RawTable, ReadOptions, read_bytes


@st.cache_data(show_spinner=False, max_entries=4)
def sample_events(n_users: int, days: int, seed: int) -> pd.DataFrame:
    """Generated sample events, cached per size and seed."""
    return sample_data.generate_sample(n_users=n_users, days=days, seed=seed).events


@st.cache_data(show_spinner=False, max_entries=2)
def read_upload(data: bytes, name: str, delimiter: str, encoding: str,
                sheet: str | None) -> RawTable:
    """Read an uploaded file once per content and read options."""
    return read_bytes(data, name, ReadOptions(delimiter=delimiter, encoding=encoding,
                                              sheet=sheet))
