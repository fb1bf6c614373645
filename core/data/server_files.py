"""Files on the server's disk: browse the folders under the data root and open a file, or
a folder of Parquet files as one table, without its bytes travelling through the browser.

The root is the deployment's ``PERSONA_LENS_DATA_ROOT`` (:mod:`core.workspace.deployment`);
unset, the feature is off. Every path comes from the analyst, or from whatever a session
holds, and is never trusted:

- it must be relative, '/'-separated, without ``..`` segments or NUL bytes;
- its real path (every symlink followed, :meth:`Path.resolve` with ``strict=True``) must
  be the root or inside it, so a symlink inside the root that points inside is fine and
  one that points (or a folder on the way that leads) outside is refused;
- it must be a regular file or a folder, never a device, FIFO or socket;
- a file is opened by its resolved path without following a symlink there, checked
  (``fstat``) to be a regular file, and the path is resolved again after opening: both
  must be the same file, so swapping a link in between the check and the open reaches
  nothing outside;
- nothing under a private folder (the workspaces, the sign-in secrets) is reachable,
  even when the root holds it.

Hard links are the file they link to: whoever can make one under the root can already
read the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from core.common.errors import ConfigError, DataError, FileTooLargeError
from core.common.progress import Progress
from core.data.readers import (
    COMPRESSED_SUFFIXES,
    EXTENSIONS,
    RawTable,
    ReadOptions,
    is_parquet_name,
    read_bytes,
    read_parquet_files,
)

#: The environment variable that names the root (read by core.workspace.deployment).
ROOT_SETTING = "PERSONA_LENS_DATA_ROOT"
#: Largest file (or folder of Parquet files) read from the server's disk: far above the
#: upload limit, since that is the point, but the whole table is held in memory (pandas
#: needs a few times the file's size), so not unbounded. The command line
#: (``python -m core features FILE``) scans a file where it lies, without a limit.
MAX_BYTES = 8 * 1024**3
#: Entries listed per folder, in sort order; a folder with more says how many are left.
MAX_ENTRIES = 2000
#: How far into each sub-folder the listing looks for Parquet files (they are counted).
MAX_SCANNED = 10_000
EntryKind = Literal["folder", "parquet_folder", "file"]
#: Opened without following a symlink at the last step, and without blocking on a FIFO
#: (which is then refused by its fstat).
OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
              | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


@dataclass(frozen=True)
class DataRoot:
    """The folder files may be opened from (its real path), and private folders inside
    it that stay out of reach."""

    path: Path
    private: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One entry of a folder: a file in a supported format or a sub-folder."""

    name: str
    #: Relative to the root, '/'-separated: what :func:`resolve` and :func:`read` take.
    path: str
    kind: EntryKind
    #: Bytes: the file's, or those of a folder's Parquet files (0 for another folder).
    size: int
    #: The Parquet files directly in a folder, read as one table.
    parquet_files: int = 0


@dataclass(frozen=True)
class Listing:
    """What a folder under the root holds."""

    path: str
    entries: list[Entry] = field(default_factory=list)
    #: Parquet files directly in this folder: it can be opened as one table.
    parquet_files: int = 0
    parquet_bytes: int = 0
    #: Entries not listed: other formats, hidden names, links outside the root or to
    #: missing files, special files.
    hidden: int = 0
    #: Entries beyond :data:`MAX_ENTRIES`.
    left_out: int = 0

    @property
    def parts(self) -> list[str]:
        """The folder's names from the root down ([] for the root)."""
        return list(PurePosixPath(self.path).parts) if self.path else []

    @property
    def parent(self) -> str | None:
        """The relative path of the folder above, or None at the root."""
        if not self.path:
            return None
        parent = str(PurePosixPath(self.path).parent)
        return "" if parent == "." else parent


def data_root(setting: str, private: Sequence[str | os.PathLike] = ()) -> DataRoot:
    """The root named by the setting, as a real path.

    Parameters
    ----------
    setting : str
        The value of :data:`ROOT_SETTING`.
    private : paths
        Folders no file may be read from even when under the root (the workspaces, the
        settings with the sign-in secret).

    Raises
    ------
    ConfigError
        When the setting is not an existing folder, or lies inside a private folder.
    """
    text = setting.strip()
    if "\x00" in text:
        raise ConfigError(f"{ROOT_SETTING} holds a NUL byte. Set it to a folder's path.")
    try:
        path = Path(text).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise ConfigError(f"{ROOT_SETTING} is '{text}', which does not exist on this "
                          "server. Set it to an existing folder and restart the server."
                          ) from None
    if not path.is_dir():
        raise ConfigError(f"{ROOT_SETTING} is '{text}', which is not a folder. Set it to "
                          "the folder that holds the data files and restart the server.")
    hidden = tuple(Path(os.path.realpath(p)) for p in private)
    if any(path.is_relative_to(p) for p in hidden):
        raise ConfigError(f"{ROOT_SETTING} is '{text}', inside one of Persona Lens's own "
                          "folders (its workspaces or its settings). Set it to a folder "
                          "of data files and restart the server.")
    return DataRoot(path, hidden)


def resolve(root: DataRoot, relative: str) -> Path:
    """The real path of a file or folder chosen under the root.

    Parameters
    ----------
    root : DataRoot
    relative : str
        '/'-separated, relative to the root; '' or '.' is the root itself.

    Returns
    -------
    Path
        The real path (symlinks followed), the root or inside it, of a regular file or
        a folder.

    Raises
    ------
    DataError
        For a NUL byte, an absolute path, a ``..`` segment, a path that does not exist,
        leads outside the root (through a symlink) or into a private folder, and
        anything that is not a regular file or a folder.
    """
    real = _real_path(root, relative)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        raise _missing(relative) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataError(f"'{relative}' is not a regular file or a folder (it is a device, a "
                        "FIFO or a socket), so it cannot be opened. Choose a data file.")
    return real


def list_folder(root: DataRoot, relative: str = "") -> Listing:
    """The supported files and the sub-folders of a folder under the root.

    Folders come first, then files, each sorted by name (case-insensitively). A folder
    that holds Parquet files says how many and their size: it can be opened as one
    table. Entries that :func:`resolve` would refuse are not listed but counted.

    Raises
    ------
    DataError
        When ``relative`` is refused by :func:`resolve` or is not a folder.
    """
    real = resolve(root, relative)
    if not real.is_dir():
        raise DataError(f"'{relative}' is a file, not a folder. Open it, or choose a folder.")
    base = _clean(relative)
    folders, files, hidden = [], [], 0
    parquet_files = parquet_bytes = 0
    for child in _scan(real):
        path = f"{base}/{child.name}" if base else child.name
        entry = _entry(root, child.name, path)
        if entry is None:
            hidden += 1
            continue
        (folders if entry.kind != "file" else files).append(entry)
        if entry.kind == "file" and is_parquet_name(entry.name):
            parquet_files += 1
            parquet_bytes += entry.size
    entries = sorted(folders, key=_order) + sorted(files, key=_order)
    return Listing(base, entries[:MAX_ENTRIES], parquet_files, parquet_bytes, hidden,
                   max(len(entries) - MAX_ENTRIES, 0))


def read(root: DataRoot, relative: str, options: ReadOptions = ReadOptions(max_bytes=MAX_BYTES),
         progress: Progress | None = None) -> RawTable:
    """Read a file (through :func:`core.data.readers.read_bytes`) or a folder of Parquet
    files (as one table) chosen under the root; the table is named by its relative path.

    Raises
    ------
    DataError
        When the path is refused (:func:`resolve`), the file cannot be read, or a
        folder holds no Parquet file or files whose schemas differ.
    FileTooLargeError
        Over ``options.max_bytes``.
    """
    real = resolve(root, relative)
    name = _clean(relative)
    if real.is_dir():
        return _read_folder(root, name, options, progress)
    with open_file(root, relative) as stream:
        size = os.fstat(stream.fileno()).st_size
        _check_size(name, size, options.max_bytes)
        data = stream.read(options.max_bytes + 1)
    return read_bytes(data, name, options)


def open_file(root: DataRoot, relative: str) -> BinaryIO:
    """Open a regular file under the root for reading, checked at the moment of opening.

    The path is resolved, the resolved path opened without following a symlink, the
    open file checked to be a regular file, and the path resolved again: it must still
    lead, inside the root, to the very file that was opened.

    Raises
    ------
    DataError
        As :func:`resolve`; for a folder; when the file changed while being opened.
    """
    real = resolve(root, relative)
    try:
        fd = os.open(real, OPEN_FLAGS)
    except IsADirectoryError:
        raise DataError(f"'{relative}' is a folder, not a file.") from None
    except OSError as exc:
        raise DataError(f"'{relative}' could not be opened ({exc.strerror}). Check that "
                        "the server may read it, or choose it again.") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise DataError(f"'{relative}' is not a regular file (a folder, a device, a "
                            "FIFO or a socket), so it cannot be opened as one.")
        again = os.stat(resolve(root, relative))
        if (again.st_dev, again.st_ino) != (opened.st_dev, opened.st_ino):
            raise DataError(f"'{relative}' changed while it was being opened. Choose it "
                            "again.")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_folder(root: DataRoot, name: str, options: ReadOptions,
                 progress: Progress | None) -> RawTable:
    """The Parquet files directly in a folder, each checked like any other file."""
    parts = sorted(child.name for child in _scan(resolve(root, name))
                   if is_parquet_name(child.name))
    shown = f"{name}/" if name else f"{root.path.name or '/'}/"
    paths = [f"{name}/{part}" if name else part for part in parts]
    sizes = []
    for path in paths:
        real = resolve(root, path)
        if not real.is_file():
            raise DataError(f"'{path}' is a folder, not a Parquet file. Move it out of "
                            f"'{shown}', or open the files one by one.")
        sizes.append(real.stat().st_size)
    _check_size(shown, sum(sizes), options.max_bytes)
    return read_parquet_files(
        [(path, lambda path=path: open_file(root, path)) for path in paths], shown, progress)


def _real_path(root: DataRoot, relative: str) -> Path:
    """The real path of ``relative`` under the root, refused when outside it."""
    if not isinstance(relative, str):
        raise DataError("A path on the server must be text. Choose the file from the list.")
    if "\x00" in relative:
        raise DataError(f"'{relative.replace(chr(0), '?')}' holds a NUL byte, which no file "
                        "name may hold. Choose the file from the list.")
    posix = PurePosixPath(relative)
    if posix.is_absolute() or os.path.isabs(relative) or relative.startswith("\\"):
        raise DataError(f"'{relative}' is an absolute path. Only files under the data "
                        "root can be opened: choose one from the list.")
    if ".." in posix.parts or ".." in relative.split("\\"):
        raise DataError(f"'{relative}' goes up a folder ('..'). Only files under the data "
                        "root can be opened: choose one from the list.")
    try:
        real = root.path.joinpath(posix).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of symlinks (RuntimeError)
        raise _missing(relative) from None
    if not real.is_relative_to(root.path):
        raise DataError(f"'{relative}' leads outside the data root (through a symbolic "
                        "link). Only files under the root can be opened.")
    if any(real.is_relative_to(p) for p in root.private):
        raise DataError(f"'{relative}' is in one of Persona Lens's own folders (its "
                        "workspaces or its settings), which cannot be opened as data.")
    return real


def _missing(relative: str) -> DataError:
    return DataError(f"'{relative}' does not exist under the data root (or is a link to "
                     "nothing). It may have been moved or deleted: choose it again from "
                     "the list.")


def _clean(relative: str) -> str:
    """'/'-separated without '.' segments or a trailing '/'; '' for the root."""
    text = str(PurePosixPath(relative)) if relative else ""
    return "" if text == "." else text


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as exc:
        raise DataError(f"The folder '{folder.name}' could not be read ({exc.strerror}). "
                        "Check that the server may read it.") from None


def _entry(root: DataRoot, name: str, path: str) -> Entry | None:
    """The listed entry, or None for one that is hidden or would be refused."""
    if name.startswith("."):
        return None
    try:
        real = resolve(root, path)
    except DataError:
        return None
    if real.is_dir():
        count = size = 0
        try:
            with os.scandir(real) as children:
                for i, child in enumerate(children):
                    if i >= MAX_SCANNED:
                        break
                    if is_parquet_name(child.name) and _inside_file(root, child,
                                                                    f"{path}/{child.name}"):
                        count += 1
                        size += child.stat().st_size
        except OSError:
            return None
        return Entry(name, path, "parquet_folder" if count else "folder", size, count)
    if not supported(name):
        return None
    return Entry(name, path, "file", real.stat().st_size)


def _inside_file(root: DataRoot, child: os.DirEntry, path: str) -> bool:
    """Whether a folder's child is a regular file that :func:`resolve` accepts."""
    if not child.is_symlink():
        return child.is_file()
    try:
        return resolve(root, path).is_file()
    except DataError:
        return False


def supported(name: str) -> bool:
    """Whether a file of this name is listed: a format the readers take by its
    extension, compressed or not (``events.csv``, ``events.csv.gz``, ``u.data``)."""
    path = Path(name.lower())
    if path.suffix in COMPRESSED_SUFFIXES:
        path = Path(path.stem)
    return path.suffix in EXTENSIONS


def _order(entry: Entry) -> tuple[str, str]:
    return entry.name.casefold(), entry.name


def _check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise FileTooLargeError(
            f"'{name}' is {size / 1e9:.2f} GB; files on the server are read up to "
            f"{limit / 1e9:.2f} GB, since the whole table is held in memory. Split it, "
            "sample users, or use the command line (python -m core features FILE), "
            "which scans a file where it lies.")
