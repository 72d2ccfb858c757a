"""Audio and text utilities with no provider or app knowledge: decoding, encoding and resampling PCM
(`audio.py`), and cutting text into the sentences and first phrases that are spoken (`text.py`).
Stands on `backend.core` only."""
