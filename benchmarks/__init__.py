"""Benchmarks beside the reproduction: how fast `utils` trains, against the released code's way of writing the
loop (`baseline`), and a seed-stacked step that training does not use (`stacked`). Nothing in `utils` imports
this package; the tests use `baseline` as the reference that the network's own forward pass must equal."""
