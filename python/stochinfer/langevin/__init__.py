"""Langevin equation inference with uncertainty (methods.md §3): Bayesian neural
networks (or a deep ensemble) for drift and diffusion, overdamped or underdamped."""
from .field_net import TrainSettings
from .fit import FieldEstimate, LangevinFit
from .pipeline import PRESETS, infer_langevin

__all__ = ["infer_langevin", "LangevinFit", "FieldEstimate", "TrainSettings", "PRESETS"]
