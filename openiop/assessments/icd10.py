"""The ICD-10-CM code set, from the `simple-icd-10-cm` package (docs/ASSESSMENTS.md).

The package parses CDC/NCHS's tabular XML when imported (several seconds and about
150 MB), which a web process should not carry. So the first use builds a compact
index (code, billable or not, description) from the package, writes it under the
data directory as a small gzipped TSV named after the package version, and drops the
package from memory; later processes read the TSV in a fraction of a second. The
package stays the source of truth: a new version builds a new index.
"""

from __future__ import annotations

import gc
import gzip
import importlib.metadata
import logging
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from openiop.assessments.rules import normalize_code

logger = logging.getLogger(__name__)

PACKAGE = "simple_icd_10_cm"
SEARCH_LIMIT = 30
_CODE_TERM = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class IcdCode:
    code: str
    description: str
    billable: bool


class _Index:
    def __init__(self, rows: list[IcdCode], release: str) -> None:
        self.release = release
        self.by_code = {row.code: row for row in rows}
        # Billable codes, in code order: (code without dot, lower-case text, row).
        self.searchable = [
            (row.code.replace(".", ""), row.description.lower(), row)
            for row in rows
            if row.billable
        ]
        self._words: dict[str, list[int]] | None = None

    def word_postings(self) -> dict[str, list[int]]:
        """Each word of the billable descriptions -> its positions in `searchable`."""
        if self._words is None:
            words: dict[str, list[int]] = {}
            for position, (_, description, _) in enumerate(self.searchable):
                for word in set(_WORD.findall(description)):
                    words.setdefault(word, []).append(position)
            self._words = words
        return self._words

    def positions_with(self, term: str) -> set[int]:
        """Positions whose description has a word containing `term`."""
        hits: set[int] = set()
        for word, positions in self.word_postings().items():
            if term in word:
                hits.update(positions)
        return hits


_lock = threading.Lock()
_index: _Index | None = None


def package_version() -> str:
    return importlib.metadata.version(PACKAGE)


def release_name() -> str:
    return _get().release


def _cache_path(version: str) -> Path:
    return Path(settings.DATA_DIR) / "cache" / f"icd10cm-{PACKAGE}-{version}.tsv.gz"


def _build_rows() -> list[IcdCode]:
    import simple_icd_10_cm as cm  # type: ignore[import-untyped]  # heavy: only to build

    rows = [
        IcdCode(code, " ".join(cm.get_description(code).split()), cm.is_leaf(code))
        for code in cm.get_all_codes(with_dots=True)
        if cm.is_category_or_subcategory(code)
    ]
    # The parsed tree is large and nothing else uses it once the index is built.
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    del cm
    gc.collect()
    return rows


def _read(path: Path) -> list[IcdCode]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [
            IcdCode(code, description, billable == "1")
            for code, billable, description in (
                line.rstrip("\n").split("\t", 2) for line in handle if line.strip()
            )
        ]


def _write(path: Path, rows: list[IcdCode]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as out:
            for row in rows:
                out.write(f"{row.code}\t{'1' if row.billable else '0'}\t{row.description}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load() -> _Index:
    version = package_version()
    release = f"ICD-10-CM ({PACKAGE} {version})"
    path = _cache_path(version)
    if path.exists():
        try:
            return _Index(_read(path), release)
        except (OSError, ValueError, EOFError):
            logger.warning("icd10 index cache unreadable; rebuilding")
    rows = _build_rows()
    try:
        _write(path, rows)
    except OSError:
        logger.warning("icd10 index cache not writable; keeping it in memory only")
    return _Index(rows, release)


def _get() -> _Index:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _load()
    return _index


def warm() -> int:
    """Build or read the index now (management command); returns its size."""
    return len(_get().by_code)


def lookup(raw: str) -> IcdCode | None:
    """The code set's entry for a code (billable or a category), or None."""
    return _get().by_code.get(normalize_code(raw))


def billable_children(raw: str, limit: int = 8) -> list[IcdCode]:
    """A few billable codes under a category, to suggest when a category was typed."""
    stem = normalize_code(raw).replace(".", "")
    found: list[IcdCode] = []
    for nodot, _, row in _get().searchable:
        if nodot.startswith(stem):
            found.append(row)
            if len(found) >= limit:
                break
    return found


def _code_like_term(term: str) -> bool:
    # "F1", "f10.2", "F32A": a letter then a digit. Words such as "PTSD" have no digit.
    return bool(_CODE_TERM.match(normalize_code(term).replace(".", "")))


def search(query: str, limit: int = SEARCH_LIMIT) -> list[IcdCode]:
    """Billable codes matching every term, in code order: a term that looks like a code
    matches by code prefix ("F10", "f10.2"), any other by part of a word of the
    description ("traum" finds "post-traumatic")."""
    terms = query.split()
    if not terms:
        return []
    index = _get()
    prefixes = [normalize_code(t).replace(".", "") for t in terms if _code_like_term(t)]
    words = {w for t in terms if not _code_like_term(t) for w in _WORD.findall(t.lower())}
    candidates: set[int] | None = None
    for word in sorted(words, key=len, reverse=True):
        hits = index.positions_with(word)
        candidates = hits if candidates is None else candidates & hits
        if not candidates:
            return []
    positions = sorted(candidates) if candidates is not None else range(len(index.searchable))
    found: list[IcdCode] = []
    for position in positions:
        nodot, _, row = index.searchable[position]
        if all(nodot.startswith(p) for p in prefixes):
            found.append(row)
            if len(found) >= limit:
                break
    return found
