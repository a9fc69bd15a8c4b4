"""Embedding circuits into the network: allocations of neurons and per-layer reshuffling."""
