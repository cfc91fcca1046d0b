"""Classification under label noise: an MLP classifier on the compiled core,
label-noise generators, and the resetting studies of methods.md §4."""
from .classifier import Classifier
from .compare import PairedComparison, compare_resetting
from .label_noise import CIFAR10_ASYMMETRIC, asymmetric_label_noise, cyclic_mapping, symmetric_label_noise

__all__ = ["Classifier", "compare_resetting", "PairedComparison", "symmetric_label_noise", "asymmetric_label_noise",
           "CIFAR10_ASYMMETRIC", "cyclic_mapping"]
