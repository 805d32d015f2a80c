"""Pure signal processing: arrays in, dataclasses out. No Flask, no database.

Audio inside the pipeline is 16 kHz mono float32 in [-1, 1].
"""

SAMPLE_RATE = 16_000
