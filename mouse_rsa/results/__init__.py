"""Result files: ``files`` writes one unit (contracts, names, sidecar, atomic writes), ``read`` reads a
results directory back (whole units only). No torch here."""
from .files import (
    KEY_COLUMNS,
    LAYER_COLUMNS,
    MODEL_FIELDS,
    SCORE_COLUMNS,
    SHORT_KEY,
    SITE_COLUMNS,
    TABLES,
    UnitResult,
    check_writable,
    finished,
    path_part,
    read_sidecar,
    read_unit,
    sidecar_path,
    unit_dir,
    unit_key,
    unit_stem,
    with_digests,
    write_targets,
    write_unit,
)
from .read import (
    MalformedResultWarning,
    read_arrays,
    read_layers,
    read_model_rdms,
    read_scores,
    read_site_rdms,
    read_table,
    scan,
    whole_units,
)

__all__ = ["KEY_COLUMNS", "LAYER_COLUMNS", "MODEL_FIELDS", "SCORE_COLUMNS", "SHORT_KEY", "SITE_COLUMNS", "TABLES",
           "MalformedResultWarning", "UnitResult", "check_writable", "finished", "path_part", "read_arrays",
           "read_layers", "read_model_rdms", "read_scores", "read_sidecar", "read_site_rdms", "read_table",
           "read_unit", "scan", "sidecar_path", "unit_dir", "unit_key", "unit_stem", "whole_units", "with_digests",
           "write_targets", "write_unit"]
