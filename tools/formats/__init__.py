"""Container tools: benchmarks, the fuzzer, the conformance-vector maker and random test containers."""
