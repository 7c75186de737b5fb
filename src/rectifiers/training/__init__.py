"""Training and measuring a network: tensors, device, models, the dead-unit monitor, the
training loop. The only folder besides diagnose/ that loads torch (docs/design.md, the map)."""
