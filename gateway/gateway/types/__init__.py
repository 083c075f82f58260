"""The strawberry types of the graph."""
