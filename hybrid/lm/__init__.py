"""Language models: ARPA I/O, interpolated modified Kneser-Ney, pruning, G.fst."""

from hybrid.lm.arpa import ArpaLM, read_arpa, write_arpa
from hybrid.lm.gfst import arpa2fst, arpa_to_g_recipe, format_lm
from hybrid.lm.kneser_ney import compute_discounts, train_kneser_ney
from hybrid.lm.prune import prune_count_cutoffs, prune_relative_entropy, recompute_backoffs
from hybrid.lm.train import train_lm_from_text

__all__ = [
    "ArpaLM", "read_arpa", "write_arpa", "arpa2fst", "arpa_to_g_recipe", "format_lm",
    "compute_discounts", "train_kneser_ney", "prune_count_cutoffs", "prune_relative_entropy",
    "recompute_backoffs", "train_lm_from_text",
]
