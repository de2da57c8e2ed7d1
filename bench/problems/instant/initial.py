"""One constant (benchmark of orchestration overhead)."""

# EVOLVE-BLOCK-START
X = 0


def choose():
    return X
# EVOLVE-BLOCK-END
