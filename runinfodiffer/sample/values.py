"""Parameters, value keys and short value templates of the sample RunInfo database.

Every value is invented but follows the format that the HCAL function managers write
to RunInfo. A value is named by a key, and `texts.render(partition, parameter, key)` turns
the key into text. Two keys of one partition and parameter render to different texts,
and one key always renders to the same text, so the sample's manifest can state
expected changes by comparing keys instead of texts. Keys are:

- ``"v0"``: the partition's starting value; ``"vN"``: the Nth edit of the parameter.
  Edits of a multi-line value change a few numbers and its tag line.
- literal keys: for list and boolean parameters (`LITERAL_PARAMETERS`), the key is the
  value itself, e.g. ``"[hcalEventBuilder_0]"`` or ``"true"``.
- special keys of CFGDOC_TXT: ``"full-dump-a"``/``"full-dump-b"`` (over 20,000 lines),
  ``"hostile"`` (HTML in an XML section) and ``"local-<run key>"`` (local runs).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Dict, List, Tuple

PARTITIONS = ("HCAL_HBHE", "HCAL_HF", "HCAL_HO", "HCAL_Laser")
SHORT_NAMES = {"HCAL_HBHE": "HBHE", "HCAL_HF": "HF", "HCAL_HO": "HO", "HCAL_Laser": "Laser"}
CRATES = {
    "HCAL_HBHE": (20, 21, 24, 25, 30, 31, 34, 35, 37),
    "HCAL_HF": (22, 29, 32),
    "HCAL_HO": (23, 27),
    "HCAL_Laser": (38,),
}
#: Number NN of the hcalvmeNN host that runs each partition's FM.
HOSTS = {"HCAL_HBHE": 5, "HCAL_HF": 7, "HCAL_HO": 9, "HCAL_Laser": 11}
_ROLES = {
    "HCAL_HBHE": "Level2_Priority_1",
    "HCAL_HF": "Level2_Priority_2",
    "HCAL_HO": "Level2_Priority_2",
    "HCAL_Laser": "Level2_Laser",
}

_COMMON = (
    "FM_URI", "FM_URL", "FM_ROLE", "EMPTY_FMS", "LOCAL_RUNKEY_SELECTED",
    "MASTERSNIPPET_SELECTED", "MASKED_RESOURCES", "HCAL_ICICONTROL_MULTI",
    "HCAL_PICONTROL_MULTI", "HCAL_LPMCONTROL", "CFGDOC_TXT", "HCAL_DAQ_RELEASE",
    "AMC13_FIRMWARE_T1", "AMC13_FIRMWARE_T2", "HCAL_uHTRManager_zsSimpleThreshold",
    "HCAL_uHTRManager_zsMarkAndPass", "HCAL_uHTRManager_TPG_TAG",
    "HCAL_uHTRManager_DisableZS",
)

#: Catalog parameter -> partitions it is diffed for. A copy of the default
#: diffed_parameters.txt (HCAL_CFGSCRIPT and MASTER_CFGSCRIPT are commented out there);
#: tests/test_sample.py checks that the two agree.
CATALOG: Dict[str, Tuple[str, ...]] = {name: PARTITIONS for name in _COMMON}
CATALOG.update({f"uHTRManager_Firmware_Crate{n}": ("HCAL_HBHE",) for n in CRATES["HCAL_HBHE"]})
CATALOG["uHTRManager_Firmware_Crate38"] = ("HCAL_Laser",)
CATALOG.update({f"uHTRManager_Firmware_Crate{n}": ("HCAL_HF",) for n in CRATES["HCAL_HF"]})

MULTILINE_PARAMETERS = (
    "CFGDOC_TXT", "HCAL_CFGSCRIPT", "MASTER_CFGSCRIPT",
    "HCAL_ICICONTROL_MULTI", "HCAL_PICONTROL_MULTI", "HCAL_LPMCONTROL",
)
LITERAL_PARAMETERS = (
    "EMPTY_FMS", "MASKED_RESOURCES",
    "HCAL_uHTRManager_zsMarkAndPass", "HCAL_uHTRManager_DisableZS",
)
#: Applications that MASKED_RESOURCES may list.
MASKABLE_APPLICATIONS = (
    "hcalEventBuilder_0", "hcalEventBuilder_3", "hcalTrigger_1", "hcalTrigger_2",
    "hcalSupervisor_4", "hcalTTCci_0",
)
#: Parameters published again at stop, in addition to any stop-value override.
STOP_PARAMETERS = (
    "LOCAL_RUNKEY_SELECTED", "EMPTY_FMS", "MASKED_RESOURCES", "HCAL_DAQ_RELEASE",
    "HCAL_CFGSCRIPT",
)


#: Run key of a local run -> the level-one FM_FULLPATH and the partitions it uses.
LOCAL_RUN_KEYS = {
    "LED-HBHE": ("/hcalpro/Local/HBHE/HBHE_LED_runs", ("HCAL_HBHE",)),
    "Pedestal-HBHE": ("/hcalpro/Local/HBHE/HBHE_Pedestal_runs", ("HCAL_HBHE",)),
    "Pedestal-HF": ("/hcalpro/Local/HF/HF_Pedestal_runs", ("HCAL_HF",)),
    "LED-HO": ("/hcalpro/Local/HO/HO_LED_runs", ("HCAL_HO",)),
    "Laser-HBHE": ("/hcalpro/Local/Laser/Laser_HBHE_runs", ("HCAL_HBHE", "HCAL_Laser")),
}
GLOBAL_FULLPATH = "/hcalpro/Global/HCAL_Global_2022_v4"

def fm_start_text(moment: datetime) -> str:
    """Format HCAL_TIME_OF_FM_START as the FM does: day without a leading zero."""
    return f"{moment.year}-{moment.month:02d}-{moment.day} {moment:%H:%M:%S} CEST"


def parameters(partition: str) -> List[str]:
    """Return the parameters a partition publishes at start, in publishing order."""
    names = list(_COMMON) + ["HCAL_CFGSCRIPT", "MASTER_CFGSCRIPT", "HCAL_TIME_OF_FM_START"]
    names += [f"uHTRManager_Firmware_Crate{n}" for n in CRATES[partition]]
    return names


def initial_key(partition: str, parameter: str) -> str:
    """Return the key of the value a partition starts the sequence with."""
    if parameter == "EMPTY_FMS":
        return "[]"
    if parameter == "MASKED_RESOURCES":
        return "[hcalTrigger_1]" if partition == "HCAL_HO" else "[]"
    if parameter == "HCAL_uHTRManager_zsMarkAndPass":
        return "not set" if partition == "HCAL_Laser" else "true"
    if parameter == "HCAL_uHTRManager_DisableZS":
        return "not set" if partition == "HCAL_Laser" else "false"
    return "v0"


def next_literal(parameter: str, key: str, rng: random.Random) -> str:
    """Return an edited literal value: a flipped boolean or a list with one item more or less."""
    if parameter in ("EMPTY_FMS", "MASKED_RESOURCES"):
        items = list_items(key)
        absent = [name for name in MASKABLE_APPLICATIONS if name not in items]
        if items and (not absent or rng.random() < 0.4):
            items.remove(rng.choice(items))
        else:
            items.append(rng.choice(absent))
        return format_list(items)
    return "false" if key == "true" else "true"


def list_items(text: str) -> List[str]:
    """Split Java list text such as ``[a, b]`` into its items."""
    inner = text.strip()[1:-1].strip()
    return [item.strip() for item in inner.split(",")] if inner else []


def format_list(items) -> str:
    """Format items as Java's List.toString() does: ``[a, b]``."""
    return "[" + ", ".join(items) + "]"


def apply_style(text: str, style: str) -> str:
    """Add white space after the last line (style contains "trailing") and CRLF line
    ends ("crlf").

    Both leave the value unchanged once line ends become LF and white space at either
    end of the value is stripped, as the comparison normalises values.
    """
    if "trailing" in style:
        text = text.rstrip("\n") + "  \n\n"
    if "crlf" in style:
        text = text.replace("\n", "\r\n")
    return text


def render_short(partition: str, parameter: str, n: int) -> str:
    """Return the text of edit `n` (0: the starting value) of a single-line parameter."""
    short = SHORT_NAMES[partition]
    host = HOSTS[partition]
    if parameter == "FM_URI":
        return (f"http://hcalvme{host:02d}.cms:{16100 + n}/urn:rcms-fm:fullpath="
                f"/hcalpro/Global/HCAL_{short}_2022,group=HCALFM,owner=hcalpro")
    if parameter == "FM_URL":
        return f"http://hcalvme{host:02d}.cms:{16100 + n}/rcms/gui/servlet/FMPilotServlet?RESOURCEID={3100 + 7 * host + 1000 * n}"
    if parameter == "FM_ROLE":
        return _ROLES[partition] if n == 0 else f"Level2_Priority_{n + 2}"
    if parameter == "LOCAL_RUNKEY_SELECTED":
        return "global_HCAL" if n == 0 else f"global_HCAL_{n}"
    if parameter == "MASTERSNIPPET_SELECTED":
        if n == 0:
            return "empty string" if partition == "HCAL_Laser" else "MasterSnippet/MasterSnippet_GlobalRun.xml"
        return f"MasterSnippet/MasterSnippet_GlobalRun_2022v{n}.xml"
    if parameter == "HCAL_DAQ_RELEASE":
        return "hcal-daq-14.6.3" if n == 0 else f"hcal-daq-14.{7 + n // 10}.{n % 10}"
    if parameter == "AMC13_FIRMWARE_T1":
        return f"0x{0x2264 + n:04X}"
    if parameter == "AMC13_FIRMWARE_T2":
        return f"0x{0x0048 + n:04X}"
    if parameter == "HCAL_uHTRManager_zsSimpleThreshold":
        if n == 0:
            return {"HCAL_HBHE": "3", "HCAL_HF": "2", "HCAL_HO": "4", "HCAL_Laser": "not set"}[partition]
        return str(9 + n)
    if parameter == "HCAL_uHTRManager_TPG_TAG":
        if n == 0:
            return {"HCAL_HO": "", "HCAL_Laser": "not set"}.get(partition, "HcalTPG_2022_v1")
        return f"HcalTPG_2022_v{n + 1}"
    if parameter.startswith("uHTRManager_Firmware_Crate"):
        flavor = "CALIB" if partition == "HCAL_Laser" else short
        slots = [f"slot{s}:{flavor} 0x0B07/0x0109" for s in range(1, 13)]
        if n:
            slot = n % 12
            slots[slot] = f"slot{slot + 1}:{flavor} 0x{0x0B07 + n:04X}/0x0109"
        return ";".join(slots)
    raise ValueError(f"no template for parameter {parameter!r}")

