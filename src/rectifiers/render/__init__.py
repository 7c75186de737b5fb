"""Findings as figures and LaTeX: the figure style, LaTeX helpers and the scripts' shared
command line. No torch, no Hydra (docs/design.md, the map)."""
