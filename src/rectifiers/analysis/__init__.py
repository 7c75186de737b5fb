"""From results tables to findings: loading results, the tidy outcomes, the claim rules and
their statistics. No torch, no Hydra (docs/design.md, the map)."""
