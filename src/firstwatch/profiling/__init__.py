"""Input profilers: what an agent's real inputs look like, as flat features.

Pure functions, used by the SDK on the agent's side (a raw document never has to leave the
agent) and by the server on ``input.value`` text.
"""

from firstwatch.profiling._features import FEATURES, Feature, FeatureKind, feature_for
from firstwatch.profiling._limits import Limits
from firstwatch.profiling._profile import profile_input

__all__ = ["FEATURES", "Feature", "FeatureKind", "Limits", "feature_for", "profile_input"]
