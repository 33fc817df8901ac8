"""Tests of block context: the innermost open XML element or `name {` block at a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runinfodiffer.blocks import MAX_CONTEXT_CHARS, block_contexts
from runinfodiffer.engine import diff_text, split_lines

REAL_DATA = Path(__file__).resolve().parents[2] / "shared/realdata"

BRACE_CONFIG = """\
hcal::uHTRManager {
  zsSimpleThreshold = 5;
  hcal::Crate 20 {
    slot = 3;
  }
  after = 1;
}
top = 2;
"""

XML_RUNKEYS = """\
<RunKeys>
  <!-- <Ignored name="comment"> -->
  <LocalRunkey name="LED-HBHE" maskedresources="">
    <Param id="7" value="1"/>
    <Param id="8" value="2"/>
  </LocalRunkey>
  <LocalRunkey>
    <Plain/>
  </LocalRunkey>
</RunKeys>
"""


def contexts(text: str, positions):
    return block_contexts(text, split_lines(text), positions)


def test_brace_innermost_block():
    assert contexts(BRACE_CONFIG, [1, 3, 4, 5, 7]) == [
        "hcal::uHTRManager {",
        "hcal::Crate 20 {",
        "hcal::Crate 20 {",
        "hcal::uHTRManager {",
        "",
    ]


def test_brace_opening_line_gets_parent():
    assert contexts(BRACE_CONFIG, [0, 2]) == ["", "hcal::uHTRManager {"]


def test_brace_on_own_line_uses_previous_line():
    text = "hcal::DTCManager\n{\n  a = 1;\n}\n"
    assert contexts(text, [2]) == ["hcal::DTCManager {"]


def test_unbalanced_closing_brace_ignored():
    text = "}\n}\nblock {\n  a = 1;\n"
    assert contexts(text, [3]) == ["block {"]


def test_xml_identifying_attribute_preferred():
    assert contexts(XML_RUNKEYS, [3, 4]) == ['<LocalRunkey name="LED-HBHE">', '<LocalRunkey name="LED-HBHE">']


def test_xml_element_without_identifying_attribute():
    assert contexts(XML_RUNKEYS, [7]) == ["<LocalRunkey>"]


def test_xml_comment_and_closed_elements_skipped():
    assert contexts(XML_RUNKEYS, [2, 6, 9]) == ["<RunKeys>", "<RunKeys>", "<RunKeys>"]


def test_xml_comment_spanning_requested_line():
    text = "<outer>\n<!--\n<hidden>\nx\n-->\n</outer>\n"
    assert contexts(text, [3]) == ["<outer>"]


def test_xml_cdata_skipped():
    text = "<outer>\n<![CDATA[ <fake> ]]>\nx\n</outer>\n"
    assert contexts(text, [2]) == ["<outer>"]


def test_xml_attribute_priority_order():
    text = '<a type="t" file="f.xml" id="9">\nx\n</a>\n'
    assert contexts(text, [1]) == ['<a id="9">']


def test_xml_stray_end_tag_ignored():
    text = "<outer>\n</inner>\n<value>\n1\n"
    assert contexts(text, [1, 3]) == ["<outer>", "<value>"]


def test_xml_end_tag_closes_unclosed_children():
    text = "<outer>\n<open>\n<inner>\n</open>\nx\n</outer>\n"
    assert contexts(text, [4]) == ["<outer>"]


def test_xml_tag_spanning_lines_collapsed():
    text = '<Partition\n    name="HCAL_HF"\n    run="1">\nvalue\n</Partition>\n'
    assert contexts(text, [3]) == ['<Partition name="HCAL_HF">']


def test_long_label_cut_to_maximum():
    text = "<Element " + " ".join(f'a{k}="{k}"' for k in range(40)) + ">\nx\n</Element>\n"
    (label,) = contexts(text, [1])
    assert len(label) == MAX_CONTEXT_CHARS
    assert label.startswith('<Element a0="0" a1="1"')
    assert label.endswith("...")


def test_positions_past_last_line():
    assert contexts("block {\n  a = 1;", [2]) == ["block {"]


def test_no_positions():
    assert contexts(BRACE_CONFIG, []) == []


def test_hunk_header_names_brace_block():
    new = BRACE_CONFIG.replace("slot = 3;", "slot = 4;")
    diff = diff_text(BRACE_CONFIG, new, context=1)
    assert [hunk.header for hunk in diff.hunks] == ["@@ -3,3 +3,3 @@ hcal::Crate 20 {"]


@pytest.fixture()
def mastersnippet() -> str:
    path = REAL_DATA / "mastersnippet-2016.xml"
    if not path.exists():
        pytest.skip(f"real data file not found: {path}")
    return path.read_text(encoding="utf-8")


def test_mastersnippet_cfgscript_block(mastersnippet):
    lines = split_lines(mastersnippet)
    position = lines.index("  include(/HTR/LUTs.cfg:pro)")
    assert contexts(mastersnippet, [position]) == ["<HCAL_CFGSCRIPT>"]


def test_mastersnippet_unquoted_attributes_not_left_open(mastersnippet):
    lines = split_lines(mastersnippet)
    last_include = next(i for i, line in enumerate(lines) if "BGo_CalibSequence" in line)
    alarmer = next(i for i, line in enumerate(lines) if line.startswith("<HCAL_ALARMER_URL>"))
    assert contexts(mastersnippet, [last_include, alarmer]) == ["<HCAL_TCDSCONTROL>", "<mastersnippet>"]


def test_mastersnippet_hunk_headers(mastersnippet):
    new = mastersnippet.replace("include(/HTR/LUTs.cfg:pro)", "include(/HTR/LUTs.cfg:test)")
    new = new.replace("http://hcalmon.cms:9945", "http://hcalmon.cms:9946")
    diff = diff_text(mastersnippet, new, context=0)
    assert [hunk.context for hunk in diff.hunks] == ["<HCAL_CFGSCRIPT>", "<mastersnippet>"]
    assert (diff.added, diff.removed) == (2, 2)
