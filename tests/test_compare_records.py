"""compare_records on hand-made runs: recording, normalisation, grouping, lists."""

from runinfodiffer.compare import compare_records
from runinfodiffer.render import render_text
from runinfodiffer.runinfo import RunRecord

PAIRS = [(p, n) for n in ("FM_URI", "EMPTY_FMS", "CFGDOC_TXT", "HCAL_DAQ_RELEASE") for p in ("HCAL_HF", "HCAL_HO")]


def record(run, values, states=("Running",)):
    result = RunRecord(run, states=list(states))
    for key, value in values.items():
        result.values[key] = value
        result.published.add(key[0])
        if key[1] == "EMPTY_FMS":
            result.empty_fms.update(v.strip().upper() for v in value.strip("[]").split(",") if v.strip())
    return result


def test_not_recorded_differs_from_empty():
    old = record(1, {("HCAL_HF", "FM_URI"): "", ("HCAL_HO", "FM_URI"): "x"})
    new = record(2, {("HCAL_HO", "FM_URI"): "x", ("HCAL_HF", "CFGDOC_TXT"): "a"})
    result = compare_records(old, new, ["HCAL_HF", "HCAL_HO"], PAIRS)
    by_parameter = {change.parameter: change for change in result.changes}
    assert by_parameter["FM_URI"].old_recorded is True
    assert by_parameter["FM_URI"].new_recorded is False
    assert by_parameter["CFGDOC_TXT"].old_recorded is False
    text = render_text(result)
    assert "not recorded in run 2" in text
    assert "not recorded in run 1" in text


def test_crlf_and_outer_whitespace_are_no_change():
    old = record(1, {("HCAL_HF", "CFGDOC_TXT"): "a\r\nb\r\n", ("HCAL_HO", "FM_URI"): "x"})
    new = record(2, {("HCAL_HF", "CFGDOC_TXT"): "  a\nb", ("HCAL_HO", "FM_URI"): "x "})
    assert compare_records(old, new, ["HCAL_HF", "HCAL_HO"], PAIRS).changes == []


def test_same_change_grouped_across_partitions():
    old = record(1, {("HCAL_HF", "HCAL_DAQ_RELEASE"): "v1", ("HCAL_HO", "HCAL_DAQ_RELEASE"): "v1"})
    new = record(2, {("HCAL_HF", "HCAL_DAQ_RELEASE"): "v2", ("HCAL_HO", "HCAL_DAQ_RELEASE"): "v2"})
    result = compare_records(old, new, ["HCAL_HF", "HCAL_HO"], PAIRS)
    assert [(c.parameter, c.partitions) for c in result.changes] == [("HCAL_DAQ_RELEASE", ["HCAL_HF", "HCAL_HO"])]


def test_different_changes_not_grouped():
    old = record(1, {("HCAL_HF", "HCAL_DAQ_RELEASE"): "v1", ("HCAL_HO", "HCAL_DAQ_RELEASE"): "v1"})
    new = record(2, {("HCAL_HF", "HCAL_DAQ_RELEASE"): "v2", ("HCAL_HO", "HCAL_DAQ_RELEASE"): "v3"})
    result = compare_records(old, new, ["HCAL_HF", "HCAL_HO"], PAIRS)
    assert [c.partitions for c in result.changes] == [["HCAL_HF"], ["HCAL_HO"]]


def test_partition_in_empty_fms_not_compared():
    old = record(1, {("HCAL_HF", "FM_URI"): "a", ("HCAL_HO", "FM_URI"): "a", ("HCAL_HF", "EMPTY_FMS"): "[]"})
    new = record(2, {("HCAL_HF", "FM_URI"): "a", ("HCAL_HF", "EMPTY_FMS"): "[HCAL_HO]"})
    result = compare_records(old, new, ["HCAL_HF", "HCAL_HO"], PAIRS)
    assert result.not_taking_part == {"HCAL_HO": [2]}
    assert [c.partitions for c in result.changes] == [["HCAL_HF"]]
    assert result.changes[0].parameter == "EMPTY_FMS"
    assert "HCAL_HO did not take part in run 2" in render_text(result)


def test_list_items_reported_by_item():
    old = record(1, {("HCAL_HF", "EMPTY_FMS"): "[hcalEventBuilder_0]"})
    new = record(2, {("HCAL_HF", "EMPTY_FMS"): "[HCAL_XX]"})
    result = compare_records(old, new, ["HCAL_HF"], PAIRS)
    items = result.changes[0].diff.items
    assert items.added == ["HCAL_XX"]
    assert items.removed == ["hcalEventBuilder_0"]
    assert "added HCAL_XX; removed hcalEventBuilder_0" in render_text(result)
