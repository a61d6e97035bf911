"""Running the models: torch and ONNX networks, graph export, loading model folders, the torch encoder
and codec, the decoder factory that picks a runtime, devices and CPU threads."""
