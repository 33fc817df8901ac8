"""Parsing of diffed_parameters.txt."""

from pathlib import Path

import pytest

from runinfodiffer.catalog import load_catalog, parse_catalog
from runinfodiffer.errors import ConfigError, UsageError

SHIPPED = Path(__file__).resolve().parent.parent / "diffed_parameters.txt"


def test_shipped_catalog_contents():
    catalog = load_catalog(SHIPPED)
    assert catalog.partitions == ["HCAL_HBHE", "HCAL_Laser", "HCAL_HO", "HCAL_HF"]
    assert catalog.parameters["LOCAL_RUNKEY_SELECTED"] == ["HCAL_HBHE", "HCAL_Laser", "HCAL_HO", "HCAL_HF"]
    assert catalog.parameters["uHTRManager_Firmware_Crate38"] == ["HCAL_Laser"]
    assert catalog.parameters["uHTRManager_Firmware_Crate29"] == ["HCAL_HF"]
    assert "HCAL_CFGSCRIPT" not in catalog.parameters
    assert "MASTER_CFGSCRIPT" not in catalog.parameters
    assert len(catalog.parameters) == 18 + 13


def test_separators_tabs_and_comments():
    text = "# header\n\nFM_URI\t:\tHCAL_HF   HCAL_HO\nFM_URL:HCAL_HF\n   # indented comment\n"
    catalog = parse_catalog(text)
    assert catalog.parameters == {"FM_URI": ["HCAL_HF", "HCAL_HO"], "FM_URL": ["HCAL_HF"]}


def test_full_names():
    catalog = parse_catalog("LOCAL_RUNKEY_SELECTED : HCAL_HF\n")
    assert catalog.full_names() == ["CMS.HCAL_HF:LOCAL_RUNKEY_SELECTED"]


@pytest.mark.parametrize(
    "line, problem",
    [
        ("FM_URI HCAL_HF", "expected 'NAME : PARTITION ...'"),
        ("FM_URI :", "lists no partition"),
        ("FM URI : HCAL_HF", "invalid parameter name"),
        ("FM_URI : HCAL_HF : HCAL_HO", "expected 'NAME : PARTITION ...'"),
        ("FM_URI : HCAL/HF", "invalid partition name"),
    ],
)
def test_malformed_line_names_file_and_line(line, problem):
    with pytest.raises(ConfigError) as error:
        parse_catalog(f"# ok\nFM_URL : HCAL_HF\n{line}\n", source="params.txt")
    assert str(error.value).startswith("params.txt:3: ")
    assert problem in str(error.value)


def test_duplicate_parameter_rejected():
    with pytest.raises(ConfigError, match="params.txt:2: parameter FM_URI is listed twice"):
        parse_catalog("FM_URI : HCAL_HF\nFM_URI : HCAL_HO\n", source="params.txt")


def test_empty_catalog_rejected():
    with pytest.raises(ConfigError, match="no parameter listed"):
        parse_catalog("# nothing\n", source="params.txt")


def test_partition_case_insensitive():
    catalog = parse_catalog("FM_URI : HCAL_Laser HCAL_HF\nFM_URL : HCAL_LASER\n")
    assert catalog.partitions == ["HCAL_Laser", "HCAL_HF"]
    assert catalog.parameters["FM_URL"] == ["HCAL_Laser"]
    assert catalog.canonical_partition("hcal_laser") == "HCAL_Laser"
    assert catalog.resolve_partitions(["HCAL_LASER", "hcal_hf"]) == ["HCAL_Laser", "HCAL_HF"]
    assert catalog.resolve_partitions([]) == ["HCAL_Laser", "HCAL_HF"]


def test_unknown_partition_lists_valid_ones():
    catalog = parse_catalog("FM_URI : HCAL_Laser HCAL_HF\n")
    with pytest.raises(UsageError) as error:
        catalog.resolve_partitions(["HCAL_XX"])
    assert "unknown partition 'HCAL_XX'" in str(error.value)
    assert "HCAL_Laser, HCAL_HF" in str(error.value)


def test_missing_file_message(tmp_path):
    with pytest.raises(ConfigError, match="cannot read parameter file"):
        load_catalog(tmp_path / "absent.txt")
