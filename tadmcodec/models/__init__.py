"""TADM's learned modules: DFRM (encoder, invertible mapping, decoder), TPM and the hybrid scheduler."""
