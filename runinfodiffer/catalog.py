"""The parameter catalog: which parameters are diffed for which partitions.

It is read from `diffed_parameters.txt`, one parameter per line::

    LOCAL_RUNKEY_SELECTED : HCAL_HBHE HCAL_HF
    # a comment

Partition names match RunInfo without regard to case, because the database holds both
`HCAL_Laser` and `HCAL_LASER`; the catalog's spelling is the one shown to users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from .errors import ConfigError, UsageError
from .schema import full_name

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass
class Catalog:
    """Parameters in file order, each with the partitions it is diffed for."""

    parameters: Dict[str, List[str]] = field(default_factory=dict)
    source: str = "<memory>"

    @property
    def partitions(self) -> List[str]:
        """Return every partition named in the catalog, in first-seen order."""
        seen: Dict[str, None] = {}
        for partitions in self.parameters.values():
            for partition in partitions:
                seen.setdefault(partition, None)
        return list(seen)

    def canonical_partition(self, name: str) -> Optional[str]:
        """Return the catalog spelling of `name` (any case), or None if unknown."""
        wanted = name.upper()
        for partition in self.partitions:
            if partition.upper() == wanted:
                return partition
        return None

    def resolve_partitions(self, names: Iterable[str]) -> List[str]:
        """Return the catalog spellings of `names`, all partitions when empty.

        Raises UsageError naming the valid partitions for an unknown name.
        """
        names = list(names)
        if not names:
            return self.partitions
        resolved: List[str] = []
        for name in names:
            partition = self.canonical_partition(name)
            if partition is None:
                valid = ", ".join(self.partitions)
                raise UsageError(f"unknown partition {name!r}: valid partitions are {valid}")
            if partition not in resolved:
                resolved.append(partition)
        return resolved

    def pairs(self, partitions: Optional[Iterable[str]] = None) -> List[Tuple[str, str]]:
        """Return (partition, parameter) pairs in catalog order, limited to `partitions`."""
        chosen = set(self.partitions if partitions is None else partitions)
        return [
            (partition, parameter)
            for parameter, names in self.parameters.items()
            for partition in names
            if partition in chosen
        ]

    def full_names(self, partitions: Optional[Iterable[str]] = None) -> List[str]:
        """Return the RunInfo names (``CMS.<PARTITION>:<NAME>``) of `pairs`."""
        return [full_name(partition, parameter) for partition, parameter in self.pairs(partitions)]


def parse_catalog(text: str, source: str = "<string>") -> Catalog:
    """Parse catalog text; a malformed line raises ConfigError as ``FILE:LINE: problem``."""
    catalog = Catalog(source=source)
    known: Dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue

        def fail(problem: str) -> ConfigError:
            return ConfigError(f"{source}:{lineno}: {problem}")

        if line.count(":") != 1:
            raise fail(f"expected 'NAME : PARTITION ...', got {line!r}")
        name, _, rest = line.partition(":")
        name = name.strip()
        partitions = rest.split()
        if not _NAME.match(name):
            raise fail(f"invalid parameter name {name!r}")
        if not partitions:
            raise fail(f"parameter {name} lists no partition")
        if name in catalog.parameters:
            raise fail(f"parameter {name} is listed twice")

        spelled: List[str] = []
        for partition in partitions:
            if not _NAME.match(partition):
                raise fail(f"invalid partition name {partition!r}")
            # One spelling per partition across the file, whatever case a line uses.
            canonical = known.setdefault(partition.upper(), partition)
            if canonical not in spelled:
                spelled.append(canonical)
        catalog.parameters[name] = spelled
    if not catalog.parameters:
        raise ConfigError(f"{source}: no parameter listed")
    return catalog


def load_catalog(path: Path) -> Catalog:
    """Read and parse the catalog file at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read parameter file {path}: {error.strerror}") from error
    return parse_catalog(text, source=str(path))
