"""Quality metrics and evaluations of the codec against rescaling baselines and standard codecs."""
