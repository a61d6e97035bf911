"""Neural-network building blocks shared by the models: configured modules, conv blocks, pixel ranges."""
