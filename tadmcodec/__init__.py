"""tadmcodec: a learned extreme-rescaling image codec (TADM) and its .tadm file format.

Importing this package is cheap: it does not import torch. The model code loads only when
pixels beyond the stored thumbnail are requested.
"""

from tadmcodec_formats import TadmError

__version__ = "0.1.0"
__all__ = ["TadmError", "__version__"]
