"""stochinfer: learn the physics of noisy systems from data.

Batched Langevin simulation with analytic ground truth, entropy production
estimators (NEEP, RNEEP, CNEEP and baselines) with error bars, Langevin equation
inference (drift and diffusion with posterior bands), and training machinery with
stochastic resetting (stochinfer.classify: classification under label noise).
"""
from . import _core

if not _core.nn_isa_supported():
    raise ImportError(
        f"stochinfer was compiled for {_core.nn_isa()} instructions, which this CPU lacks; reinstall from "
        "source on this machine, or build portably with "
        "pip install . --config-settings=cmake.define.STOCHINFER_NN_ISA=baseline")
from . import models
from ._pieces import split_at_gaps
from ._validate import OutputTooLargeError
from .results import Trajectories
from .simulate import simulate
from .ep import CNEEP, EPResult, NEEP, RNEEP, entropy_production
from .langevin import LangevinFit, TrainSettings, infer_langevin
from .train import Resetting
from . import resetting_theory
from . import movies
from .classify import Classifier, asymmetric_label_noise, symmetric_label_noise
from . import classify, ep, langevin, train

__version__ = _core.__version__

__all__ = [
    "models", "ep", "langevin", "classify", "train", "simulate", "entropy_production", "NEEP", "RNEEP",
    "CNEEP", "EPResult", "Trajectories", "infer_langevin", "LangevinFit", "TrainSettings", "Resetting",
    "resetting_theory", "movies", "Classifier", "symmetric_label_noise", "asymmetric_label_noise",
    "OutputTooLargeError", "split_at_gaps", "cuda_available", "__version__",
]


def cuda_available() -> bool:
    """True when this build has CUDA support and a GPU is visible."""
    return bool(_core.cuda_available())
