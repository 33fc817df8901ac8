"""Value templates of the sample RunInfo database, and the rows one run publishes.

Every value is invented but follows the format that the HCAL function managers write
to RunInfo. A value is named by a key, and `render(partition, parameter, key)` turns
the key into text. Two keys of one partition and parameter render to different texts,
and one key always renders to the same text, so the sample's manifest can state
expected changes by comparing keys instead of texts. Keys are:

- ``"v0"``: the partition's starting value; ``"vN"``: the Nth edit of the parameter.
  Edits of a multi-line value change a few numbers and its tag line.
- literal keys: for list and boolean parameters (`LITERAL_PARAMETERS`), the key is the
  value itself, e.g. ``"[hcalEventBuilder_0]"`` or ``"true"``.
- special keys of CFGDOC_TXT: ``"full-dump-a"``/``"full-dump-b"`` (over 20,000 lines),
  ``"hostile"`` (HTML in an XML section) and ``"local-<run key>"`` (local runs).

`run_rows` turns one planned run into RunInfo rows in the order the FMs write them.
"""

from __future__ import annotations

import functools
import random
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from .schema import (DATE_TABLE, LEVEL1_FULLPATH, LEVEL1_RUNKEY, LVL0_HCAL, RC_STATE, STRING_TABLE,
                     full_name)

if TYPE_CHECKING:
    from .sample import RunPlan

PARTITIONS = ("HCAL_HBHE", "HCAL_HF", "HCAL_HO", "HCAL_Laser")
SHORT_NAMES = {"HCAL_HBHE": "HBHE", "HCAL_HF": "HF", "HCAL_HO": "HO", "HCAL_Laser": "Laser"}
CRATES = {
    "HCAL_HBHE": (20, 21, 24, 25, 30, 31, 34, 35, 37),
    "HCAL_HF": (22, 29, 32),
    "HCAL_HO": (23, 27),
    "HCAL_Laser": (38,),
}
_HOSTS = {"HCAL_HBHE": 5, "HCAL_HF": 7, "HCAL_HO": 9, "HCAL_Laser": 11}
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


def local_text(partition: str, parameter: str, runkey: str) -> Optional[str]:
    """Return the value a local run publishes in place of the global one, or None to
    publish the partition's current global value."""
    short = SHORT_NAMES[partition]
    if parameter == "LOCAL_RUNKEY_SELECTED":
        return runkey
    if parameter == "EMPTY_FMS":
        return "[]"
    if parameter == "MASTERSNIPPET_SELECTED":
        return "MasterSnippet/MasterSnippet_LocalRun.xml"
    if parameter == "FM_URI":
        return (f"http://hcalvme{_HOSTS[partition]:02d}.cms:16300/urn:rcms-fm:fullpath="
                f"{LOCAL_RUN_KEYS[runkey][0]},group=HCALFM,owner=hcalpro")
    if parameter == "FM_ROLE":
        return "Level2_Laser" if partition == "HCAL_Laser" else f"Level2_Local_{short}"
    if parameter == "CFGDOC_TXT":
        return render(partition, parameter, f"local-{runkey}")
    return None


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


@functools.lru_cache(maxsize=512)
def render(partition: str, parameter: str, key: str) -> str:
    """Return the text of `key`. The writer stores an empty text as NULL, as Oracle does."""
    if parameter in LITERAL_PARAMETERS:
        return key
    if parameter in MULTILINE_PARAMETERS:
        return _render_multiline(partition, parameter, key)
    number = int(key[1:])
    return _render_short(partition, parameter, number)


def stop_text(partition: str, parameter: str, key: str) -> str:
    """Return a stop value that differs from the start value of `key`."""
    if parameter in ("HCAL_uHTRManager_zsMarkAndPass", "HCAL_uHTRManager_DisableZS"):
        return "false" if key == "true" else "true"
    if parameter in ("EMPTY_FMS", "MASKED_RESOURCES"):
        return format_list(list_items(key) + ["hcalSupervisor_9"])
    if parameter in MULTILINE_PARAMETERS:
        lines = render(partition, parameter, key).split("\n")
        return "\n".join(vary_lines(lines, f"stop|{partition}|{parameter}|{key}", 4, False))
    return render(partition, parameter, key) + "_atstop"


def _render_short(partition: str, parameter: str, n: int) -> str:
    short = SHORT_NAMES[partition]
    host = _HOSTS[partition]
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


# ---------------------------------------------------------------- multi-line values

_NUMBER = re.compile(r"0x[0-9A-Fa-f]+|\d+")
_FIXED_PREFIXES = ("#", "include", "<!--", "<?xml")


def vary_lines(lines: List[str], seed: str, count: int, resize: bool) -> List[str]:
    """Change the last number on `count` lines picked by `seed`; with `resize`, also
    delete one line and duplicate another. Comments and include lines stay unchanged."""
    rng = random.Random(seed)
    out = list(lines)
    candidates = [i for i, line in enumerate(out)
                  if _NUMBER.search(line) and not line.lstrip().startswith(_FIXED_PREFIXES)]
    for i in rng.sample(candidates, min(count, len(candidates))):
        out[i] = _bump_last_number(out[i], rng)
    if resize and len(candidates) > 4:
        removed, copied = rng.sample(candidates, 2)
        out.insert(copied + 1, _bump_last_number(out[copied], rng))
        del out[removed + 1 if removed > copied else removed]
    return out


def _bump_last_number(line: str, rng: random.Random) -> str:
    match = list(_NUMBER.finditer(line))[-1]
    old = match.group()
    if old.startswith("0x"):
        width = len(old) - 2
        value = int(old, 16)
        new_value = (value + rng.randint(1, 15)) % (16 ** width)
        new = f"0x{new_value:0{width}X}"
    else:
        new = str(int(old) + rng.choice((1, 2, 4, 8, 16)))
    return line[:match.start()] + new + line[match.end():]


def _render_multiline(partition: str, parameter: str, key: str) -> str:
    short = SHORT_NAMES[partition]
    if key.startswith("full-dump-"):
        return "\n".join(_full_dump(key)) + "\n"
    if key.startswith("local-"):
        runkey = key[len("local-"):]
        lines = vary_lines(_base_lines(partition, parameter), f"{key}|{partition}", 6, False)
        tag = f"{short}_Local_{runkey}"
    elif key == "hostile":
        lines = _with_hostile_runkey(_base_lines(partition, parameter))
        tag = f"{short}_Global_2022_hostile"
    else:
        n = int(key[1:])
        lines = _base_lines(partition, parameter)
        if n:
            resize = parameter == "CFGDOC_TXT" and partition != "HCAL_Laser"
            lines = vary_lines(lines, f"{partition}|{parameter}|{n}", 3 + n % 5, resize)
        tag = f"{short}_Global_2022_v{n}"
    return "\n".join(line.replace("{TAG}", tag) for line in lines) + "\n"


@functools.lru_cache(maxsize=64)
def _base_lines_cached(partition: str, parameter: str) -> Tuple[str, ...]:
    builders = {
        "CFGDOC_TXT": _laser_cfgdoc if partition == "HCAL_Laser" else _cfgdoc,
        "HCAL_CFGSCRIPT": _cfgscript,
        "MASTER_CFGSCRIPT": _master_snippet,
        "HCAL_ICICONTROL_MULTI": _ici_control,
        "HCAL_PICONTROL_MULTI": _pi_control,
        "HCAL_LPMCONTROL": _lpm_control,
    }
    return tuple(builders[parameter](partition))


def _base_lines(partition: str, parameter: str) -> List[str]:
    return list(_base_lines_cached(partition, parameter))


def _xml_runkeys(short: str, rng: random.Random) -> List[str]:
    lines = ['<HcalLocalRunConfig version="4">']
    for runkey, settings in (
        (f"LED-{short}", (("NumberOfEvents", "int", 2000), ("LEDAmplitude", "hex", 0x2A0), ("LEDDelay", "int", 16))),
        (f"Pedestal-{short}", (("NumberOfEvents", "int", 5000), ("TriggerRate", "int", 100))),
        (f"Laser-{short}", (("NumberOfEvents", "int", 3000), ("LaserFilter", "int", 3), ("LaserDelay", "hex", 0x118))),
    ):
        lines.append(f'  <LocalRunkey name="{runkey}">')
        for name, kind, value in settings:
            value += rng.randint(0, 3)
            text = f"0x{value:03X}" if kind == "hex" else str(value)
            lines.append(f'    <Parameter name="{name}" type="{kind}">{text}</Parameter>')
        lines.append("  </LocalRunkey>")
    lines.append("</HcalLocalRunConfig>")
    return lines


def _with_hostile_runkey(lines: List[str]) -> List[str]:
    end = lines.index("</HcalLocalRunConfig>")
    hostile = [
        '  <LocalRunkey name="Calib-Hostile">',
        '    <Comment><script>alert("runinfodiffer")</script></Comment>',
        '    <Parameter name="Note" type="string"><b>a &lt; b</b> & "quoted" \'single\'</Parameter>',
        "  </LocalRunkey>",
    ]
    return lines[:end] + hostile + lines[end:]


def _cfgdoc(partition: str) -> List[str]:
    short = SHORT_NAMES[partition]
    rng = random.Random(f"cfgdoc|{partition}")
    settings = {"HCAL_HBHE": 2, "HCAL_HF": 5, "HCAL_HO": 6}[partition]
    names = ("pipeline_length", "latency", "zs_threshold", "tdc_threshold", "ped_offset", "gain_mode")
    lines = [
        f"# HCAL configuration document, partition {short}",
        "# Config tag: {TAG}",
        "include(/uTCA/uHTR-GlobalRun.cfg:pro)",
        f"include(/uTCA/{short}/uHTR-{short}-pedestals.cfg:pro)",
        "",
    ]

    for crate in CRATES[partition]:
        lines += ["hcal::uHTRManager {", f"  # crate {crate}"]
        for slot in range(1, 13):
            for name in names[:settings]:
                lines.append(f"  crate{crate}.slot{slot}.{name} = 0x{rng.randint(0x10, 0xFF):02X}")
        lines += ["}", ""]

    lines += ["hcal::AMC13Manager {", "  # TTC and DAQ links, one line per crate"]
    for crate in CRATES[partition]:
        lines.append(f"  amc13.crate{crate}.enable_mask 0x0FFF")
        lines.append(f"  amc13.crate{crate}.bcn_offset 0x{rng.randint(0xD00, 0xDFF):03X}")

    lines += ["}", "", "hcal::ngCCMManager {"]
    for crate in CRATES[partition]:
        lines.append(f"  # front-end control for crate {crate}")
        for rbx in range(1, 10):
            lines.append(f"  ngccm.crate{crate}.rbx{rbx}.qie_delay = {rng.randint(0, 24)}")

    lines += ["}", "", "# local run keys known to this partition"]
    lines += _xml_runkeys(short, rng)

    lines += ["", "hcal::TriggerAdapter {"]
    for name in ("orbit_gap_start", "orbit_gap_stop", "calib_delay", "l1a_spacing", "bc0_delay"):
        lines.append(f"  trigger.{name} = {rng.randint(10, 3500)}")
    lines.append("}")
    return lines


def _laser_cfgdoc(partition: str) -> List[str]:
    """Return exactly 242 lines with many repeated ones, as the laser sequencer writes."""
    rng = random.Random(f"cfgdoc|{partition}")
    lines = [
        "# HCAL configuration document, partition Laser",
        "# Config tag: {TAG}",
        "include(/uTCA/uHTR-GlobalRun.cfg:pro)",
        "include(/Laser/laser-GlobalRun.cfg:pro)",
        "",
    ]
    lines += _xml_runkeys("Laser", rng) + ["", "hcal::LaserManager {"]
    step = 0
    while len(lines) < 240:
        step += 1
        lines += [
            f"  # sequence step {step}",
            "  laser.sequence.enable 0x1",
            "  laser.sequence.attenuator 0x3",
            "  laser.sequence.wait 0x0",
            "  laser.sequence.wait 0x0",
            "  laser.sequence.events 0x3E8",
            "  laser.sequence.enable 0x1",
        ]
    del lines[240:]
    return lines + ["}", "# end of laser sequence"]


def _full_dump(key: str) -> List[str]:
    """Return the HBHE "full dump" config: the normal text plus one line per channel."""
    rng = random.Random("full-dump")
    lines = _base_lines("HCAL_HBHE", "CFGDOC_TXT")
    lines[1] = "# Config tag: HBHE_FullDump_2022"
    lines += ["", "hcal::uHTRChannelDump {"]
    for crate in CRATES["HCAL_HBHE"]:
        for slot in range(1, 13):
            lines.append(f"  # crate {crate} slot {slot}")
            for fiber in range(24):
                for channel in range(8):
                    lines.append(f"  c{crate}.s{slot:02d}.f{fiber:02d}.ch{channel} ped=0x{rng.randint(0, 0xFF):02X} "
                                 f"gain=0x{rng.randint(0, 0xFFF):03X} tdc=0x{rng.randint(0, 0x3F):02X}")
    lines.append("}")
    if key == "full-dump-b":
        lines = _full_dump_update(lines)
    return lines


def _full_dump_update(lines: List[str]) -> List[str]:
    """Change 180 channel lines in 20 blocks of 9, delete 10 lines and duplicate 10."""
    rng = random.Random("full-dump-b")
    first = lines.index("hcal::uHTRChannelDump {") + 1
    channel_rows = [i for i in range(first, len(lines)) if lines[i].startswith("  c")]
    out = list(lines)
    starts = sorted(rng.sample(range(0, len(channel_rows) - 9, 9), 40))
    for start in starts[:20]:
        for i in channel_rows[start:start + 9]:
            out[i] = _bump_last_number(out[i], rng)
    # Delete and insert from the end backwards so that earlier indexes stay valid.
    edits = [(channel_rows[s], "delete") for s in starts[20:30]] + [(channel_rows[s], "insert") for s in starts[30:]]
    for index, action in sorted(edits, reverse=True):
        if action == "delete":
            del out[index]
        else:
            out.insert(index + 1, _bump_last_number(out[index], rng))
    return out


def _cfgscript(partition: str) -> List[str]:
    short = SHORT_NAMES[partition]
    lines = [f"# HCAL_CFGSCRIPT, partition {short}, {{TAG}}",
             "include(/uTCA/uHTR-GlobalRun.cfg:pro)",
             "include(/uTCA/AMC13-GlobalRun.cfg:pro)",
             f"include(/uTCA/{short}/LUT-{short}-2022.cfg:pro)"]
    for crate in CRATES[partition]:
        lines.append(f"uHTR.crate{crate}.enable = 1")
        lines.append(f"uHTR.crate{crate}.orbit_delay = {40 + crate}")
    return lines


def _master_snippet(partition: str) -> List[str]:
    short = SHORT_NAMES[partition]
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!-- {TAG} -->",
        "<mastersnippet>",
        "  <CfgScript>",
        "    include(/uTCA/uHTR-GlobalRun.cfg:pro)",
        "  </CfgScript>",
        "  <ICIControlMulti>",
        f'    <include file="/TCDS/ICI/ICI_GlobalRun_{short}.txt" version="3"/>',
        "  </ICIControlMulti>",
        '  <PIControlMulti Partition="HF;HO">',
        '    <include file="/TCDS/PI/PI_GlobalRun.txt" version="2"/>',
        "  </PIControlMulti>",
        "  <FMSettings>",
        '    <FMParameter name="HCAL_EVENTSTOTAKE" type="int" value="1000"/>',
        '    <FMParameter name="USE_RESET_FOR_RECOVER" type="boolean" value="true" Partition="HF;HO"/>',
        '    <FMParameter name="SUPERVISOR_TIMEOUT_S" type="int" value="120"/>',
        "  </FMSettings>",
        "</mastersnippet>",
    ]


def _registers(title: str, names: List[str], seed: str) -> List[str]:
    rng = random.Random(seed)
    return [f"# {title} {{TAG}}"] + [f"{name} 0x{rng.randint(0, 0xFF):X}" for name in names]


def _ici_control(partition: str) -> List[str]:
    names = ["main.inselect.cyclic_gen_enable", "main.inselect.bchannel_enable", "main.orbit_alignment_config"]
    for n in range(4):
        names += [f"main.cyclic_generator{n}.configuration.enabled",
                  f"main.cyclic_generator{n}.configuration.prescale",
                  f"main.cyclic_generator{n}.configuration.postscale",
                  f"main.cyclic_generator{n}.configuration.start_bx"]
    return _registers(f"ICI register file, {SHORT_NAMES[partition]}", names, f"ici|{partition}")


def _pi_control(partition: str) -> List[str]:
    names = ["main.tts_source_select", "main.tts_mask", "main.orbit_select"]
    names += [f"main.rj45_{n}.enable" for n in range(1, 11)]
    return _registers(f"PI register file, {SHORT_NAMES[partition]}", names, f"pi|{partition}")


def _lpm_control(partition: str) -> List[str]:
    names = [f"main.lpm.bgo_channel{n}.enable" for n in range(8)]
    names += [f"main.lpm.bgo_channel{n}.bx" for n in range(8)]
    return _registers(f"LPM register file, {SHORT_NAMES[partition]}", names, f"lpm|{partition}")


# ---------------------------------------------------------------- rows of one run

Row = Tuple[str, Optional[str], str, datetime]


def run_rows(plan: "RunPlan") -> Tuple[List[Row], Optional[int]]:
    """Return a run's rows (name, value, table, time) in time order, and the index of
    its first Running row (None if it never reaches Running).

    A global run writes an RC_STATE row per transition. The level-one rows follow
    Configuring. EMPTY_FMS, MASKED_RESOURCES and the partitions' values follow
    Starting, before Running, and the stop values follow Stopping. A local run has no
    LVL0 rows.
    """
    rows: List[Row] = []
    moment = [plan.start]

    def add(name: str, value: Optional[str], seconds: int = 1, table: str = STRING_TABLE) -> None:
        moment[0] += timedelta(seconds=seconds)
        rows.append((name, value, table, moment[0]))

    spec = plan.spec
    if spec.kind == "local":
        _level1_rows(plan, add, LOCAL_RUN_KEYS[spec.runkey][0])
        _start_rows(plan, add)
        moment[0] += timedelta(minutes=12)
        _stop_rows(plan, add)
        return rows, None
    running_at = None
    hcal_in = spec.fate != "out"
    for number, state in enumerate(plan.states):
        if state == "Running" and running_at is None:
            running_at = len(rows)
        if state == "Stopping":
            moment[0] += timedelta(minutes=35)
        add(RC_STATE, state, 20)
        if number == 0:
            add(LVL0_HCAL, "In" if hcal_in else "Out")
            if hcal_in:
                _level1_rows(plan, add, GLOBAL_FULLPATH)
        elif state == "Starting":
            add("CMS.LVL0:START_TIME_T", moment[0].strftime("%Y-%m-%d %H:%M:%S"), 1, DATE_TABLE)
            _start_rows(plan, add)
        elif state == "Stopping":
            _stop_rows(plan, add)
            add("CMS.LVL0:STOP_TIME_T", moment[0].strftime("%Y-%m-%d %H:%M:%S"), 1, DATE_TABLE)
    return rows, running_at


def _level1_rows(plan: "RunPlan", add, fullpath: str) -> None:
    add(LEVEL1_FULLPATH, fullpath)
    add(LEVEL1_RUNKEY, plan.spec.runkey)
    add("CMS.HCAL_LEVEL_1:HCAL_TIME_OF_FM_START", fm_start_text(plan.start))


def _spelled(plan: "RunPlan", partition: str) -> str:
    return plan.spec.laser_spelling if partition == "HCAL_Laser" else partition


def _start_rows(plan: "RunPlan", add) -> None:
    if not plan.partitions:
        return
    masked = sorted({item for p in plan.partitions
                     for item in list_items(plan.keys[(p, "MASKED_RESOURCES")] or "[]")})
    add("CMS.HCAL_LEVEL_1:EMPTY_FMS", format_list(plan.spec.empty))
    add("CMS.HCAL_LEVEL_1:MASKED_RESOURCES", format_list(masked))
    for p in plan.partitions:
        for name in parameters(p):
            text = _start_text(plan, p, name)
            if text is not None:
                add(full_name(_spelled(plan, p), name), text)


def _start_text(plan: "RunPlan", partition: str, name: str) -> Optional[str]:
    if name == "HCAL_TIME_OF_FM_START":
        return fm_start_text(plan.start)
    if plan.spec.kind == "local":
        text = local_text(partition, name, plan.spec.runkey)
        if text is not None:
            return text
    key = plan.keys[(partition, name)]
    if key is None:
        return None
    return apply_style(render(partition, name, key), plan.styles.get((partition, name), ""))


def _stop_rows(plan: "RunPlan", add) -> None:
    overrides = set(plan.spec.stop)
    for p in plan.partitions:
        names = list(STOP_PARAMETERS) + [n for q, n in plan.spec.stop if q == p and n not in STOP_PARAMETERS]
        for name in names:
            key = plan.keys[(p, name)]
            if key is None:
                continue
            if (p, name) in overrides:
                text = apply_style(stop_text(p, name, key), plan.styles.get((p, name), ""))
            else:
                text = _start_text(plan, p, name)
            add(full_name(_spelled(plan, p), name), text)
