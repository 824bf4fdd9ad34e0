"""What a model is scored against, from a dataset's cells: reliability, sites, targets.

* ``reliability``: split-half (Spearman–Brown) and oracle reliability of cells, RDM noise ceilings;
* ``sites``: reliable cells grouped by area × cortical layer, with each site's RDM and ceiling;
* ``targets``: ``Targets``, the stimuli plus site RDMs (and cell means) one unit is scored against,
  from a dataset or from shared RDM files.
"""
from .reliability import oracle_correlation, rdm_split_half_reliability, split_half_reliability
from .sites import SiteRDM, parse_site_key, select_sites, site_key
from .targets import Targets, load_targets

__all__ = ["SiteRDM", "Targets", "load_targets", "oracle_correlation", "parse_site_key",
           "rdm_split_half_reliability", "select_sites", "site_key", "split_half_reliability"]
