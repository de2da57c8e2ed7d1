"""Eight constants to tune (benchmark of the offline brain's numeric search)."""

# EVOLVE-BLOCK-START
A = 1.0
B = 1.0
C = 1.0
D = 1.0
E = 1.0
F = 1.0
G = 1.0
H = 1.0


def choose():
    return A, B, C, D, E, F, G, H
# EVOLVE-BLOCK-END
