"""The run sequence of the sample database: curated runs, then a seeded continuation.

`BASE_SEQUENCE` lists the curated runs. Runs after them come from `RANDOM_SEED`, so
every process plans the same sequence. `SEQUENCE` plans runs on demand and caches each
`RunPlan`: the value keys and styles in effect during the run, and its injections.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

from .rows import run_rows
from .values import (LITERAL_PARAMETERS, LOCAL_RUN_KEYS, MULTILINE_PARAMETERS, PARTITIONS, format_list,
                     initial_key, list_items, next_literal, parameters)

FIRST_RUN = 330010
RANDOM_SEED = 20220601
START_TIME = datetime(2022, 6, 1, 8, 0, 0)

HBHE, HF, HO, LASER = PARTITIONS
ALL = PARTITIONS
ZS_THRESHOLD = "HCAL_uHTRManager_zsSimpleThreshold"
MARK_AND_PASS = "HCAL_uHTRManager_zsMarkAndPass"
DISABLE_ZS = "HCAL_uHTRManager_DisableZS"
TPG_TAG = "HCAL_uHTRManager_TPG_TAG"
SNIPPET = "MASTERSNIPPET_SELECTED"
UPPER_LASER = {"laser_spelling": "HCAL_LASER"}

_STATES = {
    "running": ("Configuring", "Configured", "Starting", "Running", "Stopping", "Configured"),
    "paused": ("Configuring", "Configured", "Starting", "Running", "Pausing", "Paused",
               "Resuming", "Running", "Stopping", "Configured"),
    "halted": ("Configuring", "Configured", "Halted"),
    "error": ("Configuring", "Configured", "Starting", "Error"),
}
_STATES["out"] = _STATES["running"]


@dataclass(frozen=True)
class RunSpec:
    """One run of the sequence: its kind, how far it got and what changes in it.

    An injection is (partition or tuple of partitions, parameter, action[, argument]).
    These actions change the value:

    - "edit": a new value, with the same text in every partition listed.
    - "set": the key given as argument.
    - "revert": the key in effect at the BASE_SEQUENCE index given, or the key given.
    - "remove": no row from this run on. "restore" brings back the last value.
    - "add" and "drop": one item more or less in a list value.

    "crlf" and "trailing" change only the text: they toggle CRLF line ends and white
    space after the last line.
    """

    gap: int  # run number minus the previous run number
    kind: str = "global"  # "global" or "local"
    fate: str = "running"  # a key of _STATES ("out": HCAL Out), or "local"
    empty: Tuple[str, ...] = ()  # partitions listed in EMPTY_FMS, which publish nothing
    laser_spelling: str = LASER  # partition name the laser FM writes
    injections: Tuple[tuple, ...] = ()
    stop: Tuple[Tuple[str, str], ...] = ()  # (partition, parameter) with a different stop value
    runkey: str = "global_HCAL"


# _g and _l build a global and a local RunSpec; BASE_SEQUENCE uses them on every line.
def _g(gap: int, *injections: tuple, **options) -> RunSpec:
    return RunSpec(gap, "global", injections=injections, **options)


def _l(gap: int, runkey: str, **options) -> RunSpec:
    return RunSpec(gap, "local", fate="local", runkey=runkey, **options)


#: The curated runs. A "revert" argument given as an int is an index into this tuple,
#: and the value returns to the key in effect at that run.
BASE_SEQUENCE = (
    _g(0),
    _l(3, "LED-HBHE"),
    _g(2, (HF, ZS_THRESHOLD, "edit")),
    _g(1, fate="halted"),
    _g(3, (ALL, "HCAL_DAQ_RELEASE", "edit"), ((HBHE, HF), "AMC13_FIRMWARE_T1", "edit")),
    _l(1, "Pedestal-HF"),
    _l(2, "Laser-HBHE", **UPPER_LASER),
    _g(3, (HBHE, "CFGDOC_TXT", "edit"), ((HBHE, HO), "HCAL_ICICONTROL_MULTI", "edit"),
       (LASER, "HCAL_LPMCONTROL", "edit"), (HF, "FM_URL", "edit"),
       (HF, "uHTRManager_Firmware_Crate22", "edit"), (HO, "MASTER_CFGSCRIPT", "edit")),
    _g(1, (HBHE, "MASKED_RESOURCES", "add", "hcalEventBuilder_0"),
       (HO, "HCAL_PICONTROL_MULTI", "edit"), empty=(HO, LASER)),
    _l(3, "LED-HO"),
    _g(1, (HBHE, "MASKED_RESOURCES", "add", "hcalTrigger_2"), **UPPER_LASER),
    _g(1, (HF, DISABLE_ZS, "remove"), **UPPER_LASER),
    _g(3, (HF, DISABLE_ZS, "restore"), (HF, "CFGDOC_TXT", "crlf"),
       (HBHE, "HCAL_LPMCONTROL", "trailing"), **UPPER_LASER),
    _l(1, "Pedestal-HBHE"),
    _g(1, fate="error"),
    _g(2, fate="out"),
    _g(2, (HF, ZS_THRESHOLD, "revert", 0),
       stop=((HF, "CFGDOC_TXT"), (HBHE, "MASKED_RESOURCES"), (HO, MARK_AND_PASS))),
    _g(1),
    _l(4, "LED-HBHE"),
    _g(1, (HBHE, "CFGDOC_TXT", "set", "full-dump-a")),
    _g(1, (HBHE, "CFGDOC_TXT", "set", "full-dump-b")),
    _g(2, (HBHE, "CFGDOC_TXT", "revert", 17)),
    _g(1, (HO, "CFGDOC_TXT", "set", "hostile")),
    _l(3, "Laser-HBHE"),
    _g(1, (HO, "CFGDOC_TXT", "revert", 21), (HO, "MASKED_RESOURCES", "add", "hcalEventBuilder_3"),
       (HO, "MASKED_RESOURCES", "drop", "hcalTrigger_1"), empty=(LASER,)),
    _g(2, (HO, TPG_TAG, "edit"), (LASER, TPG_TAG, "edit")),
    _l(1, "Pedestal-HF"),
    _g(2, (LASER, "CFGDOC_TXT", "edit"), (HBHE, "MASKED_RESOURCES", "drop", "hcalEventBuilder_0")),
    _g(1, (ALL, "HCAL_CFGSCRIPT", "edit"), (HO, "uHTRManager_Firmware_Crate23", "edit")),
    _l(2, "LED-HO"),
    _g(1, (HBHE, DISABLE_ZS, "remove"), (HF, "FM_ROLE", "edit")),
    _g(1, fate="halted"),
    _g(2, (HBHE, DISABLE_ZS, "restore"), (ALL, "HCAL_DAQ_RELEASE", "revert", 0)),
    _l(1, "LED-HBHE"),
    _g(3, (HO, "AMC13_FIRMWARE_T2", "edit"), (HF, SNIPPET, "edit")),
    _g(1, (LASER, SNIPPET, "edit")),
    _l(2, "Pedestal-HBHE"),
    _g(1, (HBHE, "HCAL_ICICONTROL_MULTI", "revert", 0)),
    _g(2, (HF, "HCAL_PICONTROL_MULTI", "edit"), fate="paused"),
    _l(1, "LED-HO"),
    _g(1, (HO, MARK_AND_PASS, "edit")),
    _g(2),
)
#: Indexes into BASE_SEQUENCE of the second run of the selected pairs.
DEMO_INDEX, LARGEST_INDEX, HOSTILE_INDEX = 7, 20, 22
HOSTILE_PARTITION = HO


@dataclass
class RunPlan:
    """One run of the sequence, with the value keys and styles in effect during it."""

    index: int
    run: int
    start: datetime
    spec: RunSpec
    states: Tuple[str, ...]
    partitions: Tuple[str, ...]
    keys: Dict[Tuple[str, str], Optional[str]]
    styles: Dict[Tuple[str, str], str]
    injections: List[dict]

    @property
    def eligible(self) -> bool:
        """True for a global run that reached Running with HCAL In."""
        return "Running" in self.states and self.spec.fate != "out"


class _Sequence:
    """The run sequence, planned lazily and cached because it never changes."""

    def __init__(self) -> None:
        self.plans: List[RunPlan] = []
        self.first_ids = [1]  # first_ids[i]: ID of the first row of run i in a full build
        self.keys = {(p, name): initial_key(p, name) for p in ALL for name in parameters(p)
                     if name != "HCAL_TIME_OF_FM_START"}
        self.styles: Dict[Tuple[str, str], str] = {}
        self.counters: Dict[str, int] = {}
        self.last_present: Dict[Tuple[str, str], str] = {}
        self.seen: Dict[Tuple[str, str], List[str]] = {}
        self.run = FIRST_RUN
        self.clock = START_TIME
        self.laser_spelling = LASER
        self.rng = random.Random(RANDOM_SEED)
        self.lock = threading.Lock()

    def get(self, count: int) -> List[RunPlan]:
        with self.lock:
            while len(self.plans) < count:
                index = len(self.plans)
                spec = BASE_SEQUENCE[index] if index < len(BASE_SEQUENCE) else self._random_spec()
                self.plans.append(self._plan(index, spec))
            return self.plans[:count]

    def count_through(self, run: int) -> int:
        """Return how many sequence runs have a number <= `run`.

        Raise ValueError if `run` is not a run of the sequence.
        """
        size = 64
        while self.get(size)[-1].run < run:
            size *= 2
        numbers = [plan.run for plan in self.get(size)]
        if run not in numbers:
            raise ValueError(f"run {run} is not part of the sample sequence; rebuild the database with build_sample")
        return numbers.index(run) + 1

    def first_id(self, index: int) -> int:
        """Return the ID of the first row of run `index` in a database built at once."""
        plans = self.get(index)
        with self.lock:
            while len(self.first_ids) <= index:
                rows, _ = run_rows(plans[len(self.first_ids) - 1])
                self.first_ids.append(self.first_ids[-1] + len(rows))
            return self.first_ids[index]

    def _plan(self, index: int, spec: RunSpec) -> RunPlan:
        self.run += spec.gap
        self.clock += timedelta(minutes=random.Random(index).randint(20, 95))
        log: List[dict] = []
        for injection in spec.injections:
            self._inject(index, injection, log)
        if spec.kind == "global" and spec.fate != "out":
            for p in ALL:
                self._set(p, "EMPTY_FMS", format_list(spec.empty), "list", log)
        if spec.kind == "local":
            partitions = LOCAL_RUN_KEYS[spec.runkey][1]
        elif spec.fate in ("halted", "out"):
            partitions = ()
        else:
            partitions = tuple(p for p in ALL if p not in spec.empty)
        for p, name in spec.stop:
            if self.keys[(p, name)] is not None:
                log.append(self._entry(p, name, "stop_differs"))
        plan = RunPlan(index, self.run, self.clock, spec, _STATES.get(spec.fate, ()), partitions,
                       dict(self.keys), dict(self.styles), log)
        if plan.eligible:
            # Random reverts pick from this history. The special CFGDOC_TXT values stay
            # out of it, so the full dump and the hostile value occur only once.
            for (p, name), key in self.keys.items():
                history = self.seen.setdefault((p, name), [])
                special = key is None or key.startswith(("full-dump", "hostile"))
                if p in partitions and not special and key not in history:
                    history.append(key)
        return plan

    def _entry(self, partition: str, parameter: str, kind: str) -> dict:
        return {"run": self.run, "partition": partition, "parameter": parameter, "kind": kind,
                "value": self.keys[(partition, parameter)]}

    def _set(self, partition: str, parameter: str, key: Optional[str], kind: str, log: List[dict]) -> None:
        old = self.keys[(partition, parameter)]
        if key == old:
            return
        if old is not None:
            self.last_present[(partition, parameter)] = old
        self.keys[(partition, parameter)] = key
        log.append(self._entry(partition, parameter, kind))

    def _inject(self, index: int, injection: tuple, log: List[dict]) -> None:
        targets, parameter, action = injection[:3]
        argument = injection[3] if len(injection) > 3 else None
        partitions = (targets,) if isinstance(targets, str) else targets
        shared_key = None
        if action == "edit" and parameter not in LITERAL_PARAMETERS:
            self.counters[parameter] = self.counters.get(parameter, 0) + 1
            shared_key = f"v{self.counters[parameter]}"
        for p in partitions:
            old = self.keys[(p, parameter)]
            if action in ("crlf", "trailing"):
                if old is None:
                    continue
                style = self.styles.get((p, parameter), "")
                self.styles[(p, parameter)] = style.replace(action, "") if action in style else style + action
                log.append(self._entry(p, parameter, "whitespace"))
            elif action == "edit":
                literal_rng = random.Random(f"{index}|{p}|{parameter}")
                new = shared_key or next_literal(parameter, old or "[]", literal_rng)
                self._set(p, parameter, new, "edit", log)
            elif action in ("add", "drop"):
                items = [item for item in list_items(old) if item != argument]
                items += [argument] if action == "add" else []
                self._set(p, parameter, format_list(items), "list", log)
            elif action == "revert":
                target = self.plans[argument].keys[(p, parameter)] if isinstance(argument, int) else argument
                self._set(p, parameter, target, "revert", log)
            elif action == "remove":
                self._set(p, parameter, None, "remove", log)
            elif action == "restore":
                self._set(p, parameter, self.last_present[(p, parameter)], "restore", log)
            else:
                self._set(p, parameter, argument, action, log)

    def _random_spec(self) -> RunSpec:
        rng = self.rng
        gap = rng.choice((1, 1, 1, 2, 2, 3, 5))
        if rng.random() < 0.05:
            self.laser_spelling = "HCAL_LASER" if self.laser_spelling == LASER else LASER
        if rng.random() < 0.3:
            runkey = rng.choice(sorted(LOCAL_RUN_KEYS))
            return RunSpec(gap, "local", fate="local", runkey=runkey, laser_spelling=self.laser_spelling)

        draw = rng.random()
        fate = "running"
        for name, below in (("halted", 0.04), ("error", 0.07), ("out", 0.09), ("paused", 0.15)):
            if draw < below:
                fate = name
                break

        empty: Tuple[str, ...] = ()
        if rng.random() < 0.08:
            # A list naming the laser partition would differ in text between spellings.
            candidates = [p for p in ALL if p != LASER or self.laser_spelling == LASER]
            chosen = rng.sample(candidates, rng.choice((1, 1, 2)))
            empty = tuple(p for p in ALL if p in chosen)

        injections = [(p, name, "restore") for (p, name), key in self.keys.items()
                      if key is None and rng.random() < 0.3]
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            injections.append(self._random_injection(rng))
        if rng.random() < 0.04:
            injections.append((ALL, "HCAL_DAQ_RELEASE", "edit"))
        if rng.random() < 0.03:
            target = (rng.choice(ALL), rng.choice(MULTILINE_PARAMETERS))
            injections.append(target + (rng.choice(("crlf", "trailing")),))

        stop: Tuple[Tuple[str, str], ...] = ()
        if rng.random() < 0.05:
            stop = ((rng.choice(ALL), rng.choice(("CFGDOC_TXT", "MASKED_RESOURCES", MARK_AND_PASS))),)
        return RunSpec(gap, "global", fate=fate, empty=empty, laser_spelling=self.laser_spelling,
                       injections=tuple(injections), stop=stop)

    def _random_injection(self, rng: random.Random) -> tuple:
        p = rng.choice(ALL)
        names = [n for n in parameters(p) if n not in ("EMPTY_FMS", "LOCAL_RUNKEY_SELECTED", "HCAL_TIME_OF_FM_START")]
        name = rng.choice(names)
        key = self.keys[(p, name)]
        if key is None:
            return (p, name, "restore")
        earlier = [k for k in self.seen.get((p, name), ()) if k != key]
        draw = rng.random()
        if earlier and draw < 0.2:
            return (p, name, "revert", rng.choice(earlier))
        removable = name not in MULTILINE_PARAMETERS and name != "MASKED_RESOURCES"
        if removable and draw < 0.25:
            return (p, name, "remove")
        return (p, name, "edit")


SEQUENCE = _Sequence()
