"""What a run is before it runs: the config schema and its checks, run identities, studies,
run records and the data. No torch (docs/design.md, the map)."""
