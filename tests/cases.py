"""Shape cases shared by the forward and the gradient tests."""

# Every form np.matmul takes: vectors on either side, stacks, and batch axes that broadcast.
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
]
