"""The standing GPU job: packs that travel to a lent device, its check and train modes, and the
adoption of what a train run brings back (see README, "GPU")."""
