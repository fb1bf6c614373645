"""What every package shares: errors, the one Notice type, the progress callback, the one
DuckDB gateway, safe table export and the shared chart style."""

from core.common.errors import ConfigError, DataError, FileTooLargeError, PersonaLensError
from core.common.export import parquet_bytes, safe_csv_bytes
from core.common.notices import Notice
from core.common.progress import Progress

__all__ = ["ConfigError", "DataError", "FileTooLargeError", "Notice", "PersonaLensError",
           "Progress", "parquet_bytes", "safe_csv_bytes"]
