"""stochinfer: learn the physics of noisy systems from data.

Batched Langevin simulation with analytic ground truth (this release), entropy
production estimators and Langevin inference with uncertainty (coming).
"""
from . import _core
from . import models
from ._validate import OutputTooLargeError
from .results import Trajectories
from .simulate import simulate

__version__ = _core.__version__

__all__ = ["models", "simulate", "Trajectories", "OutputTooLargeError", "cuda_available", "__version__"]


def cuda_available() -> bool:
    """True when this build has CUDA support and a GPU is visible."""
    return bool(_core.cuda_available())
