"""Texts of the sample's values: `render` turns a key (see `values`) into text.

The multi-line values are built here from seeded templates: CFGDOC_TXT with its
special full-dump and hostile keys, HCAL_CFGSCRIPT, the master snippet and the TCDS
register files. An edit changes a few numbers of the template with `vary_lines`.
"""

from __future__ import annotations

import functools
import random
import re
from typing import List, Tuple

from .values import (CRATES, LITERAL_PARAMETERS, MULTILINE_PARAMETERS, SHORT_NAMES, format_list, list_items,
                     render_short)


@functools.lru_cache(maxsize=512)
def render(partition: str, parameter: str, key: str) -> str:
    """Return the text of `key`. The writer stores an empty text as NULL, as Oracle does."""
    if parameter in LITERAL_PARAMETERS:
        return key
    if parameter in MULTILINE_PARAMETERS:
        return _render_multiline(partition, parameter, key)
    number = int(key[1:])
    return render_short(partition, parameter, number)


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

