"""From a file to canonical events: readers, column mapping, cleaning, sessions, privacy,
and the generated sample shop."""

from core.data.cleaning import LoadConfig, LoadReport, clean_events
from core.data.mapping import ColumnMapping, guess_event_roles, guess_mapping
from core.data.readers import RawTable, ReadOptions, read_bytes, read_path
from core.data.sample import SampleData, generate_sample

__all__ = ["ColumnMapping", "LoadConfig", "LoadReport", "RawTable", "ReadOptions",
           "SampleData", "clean_events", "generate_sample", "guess_event_roles",
           "guess_mapping", "read_bytes", "read_path"]
