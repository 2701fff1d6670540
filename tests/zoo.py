"""Models nobody here wrote: the shapes researchers bring to specinit (issue 15).

Each factory builds a small model with seeded random weights and returns ``(model, x, y)``: a
batch it accepts and targets for a loss.  Token models take ``(N, L)`` int64 ids and return
``(N, classes)`` logits (a pooled classifier head), so every measurement has a batch axis.
HuggingFace models are built from small configs (no download): ``transformers`` is a test
dependency.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

VOCAB, SEQ, BATCH, CLASSES = 50, 8, 6, 3


def _tokens(seed: int = 0) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    return x, y


class TransformerClassifier(nn.Module):
    """Embedding → ``nn.TransformerEncoder`` (2 layers, 4 heads, ReLU inside) → mean pool → Linear."""

    def __init__(self, d_model: int = 16, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        block = nn.TransformerEncoderLayer(
            d_model, nhead=4, dim_feedforward=32, dropout=0.1, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(block, num_layers=layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, CLASSES)

    def forward(self, ids: Tensor) -> Tensor:
        return self.head(self.norm(self.encoder(self.embed(ids))).mean(1))


class LSTMClassifier(nn.Module):
    """Embedding → 2-layer ``nn.LSTM`` → last hidden state → Linear."""

    def __init__(self, d: int = 12, hidden: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, CLASSES)

    def forward(self, ids: Tensor) -> Tensor:
        out, _ = self.lstm(self.embed(ids))
        return self.head(out[:, -1])


class GRUClassifier(nn.Module):
    """Embedding → ``nn.GRU`` → last hidden state → Linear."""

    def __init__(self, d: int = 12, hidden: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d)
        self.gru = nn.GRU(d, hidden, batch_first=True)
        self.head = nn.Linear(hidden, CLASSES)

    def forward(self, ids: Tensor) -> Tensor:
        out, _ = self.gru(self.embed(ids))
        return self.head(out[:, -1])


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(h)))


class ResidualCNN(nn.Module):
    """A small ResNet: stem conv + BN + ReLU, two residual blocks, global pool, Linear."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.blocks = nn.Sequential(Block(c), Block(c))
        self.head = nn.Linear(c, CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class HFClassifier(nn.Module):
    """A HuggingFace backbone (random weights from a small config) with a mean-pooled Linear head."""

    def __init__(self, backbone: nn.Module, width: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(width, CLASSES)

    def forward(self, ids: Tensor) -> Tensor:
        hidden = self.backbone(input_ids=ids).last_hidden_state
        return self.head(hidden.mean(1))


def transformer_encoder(seed: int = 0) -> tuple[nn.Module, Tensor, Tensor]:
    torch.manual_seed(seed)
    return TransformerClassifier(), *_tokens(seed)


def lstm_classifier(seed: int = 0) -> tuple[nn.Module, Tensor, Tensor]:
    torch.manual_seed(seed)
    return LSTMClassifier(), *_tokens(seed)


def gru_classifier(seed: int = 0) -> tuple[nn.Module, Tensor, Tensor]:
    torch.manual_seed(seed)
    return GRUClassifier(), *_tokens(seed)


def residual_cnn(seed: int = 0) -> tuple[nn.Module, Tensor, Tensor]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 1, 8, 8, generator=gen)
    return ResidualCNN(), x, torch.randint(0, CLASSES, (BATCH,), generator=gen)


def bert(seed: int = 0) -> tuple[nn.Module, Tensor, Tensor]:
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    return HFClassifier(BertModel(config, add_pooling_layer=False), 16), *_tokens(seed)


def gpt2(seed: int = 0) -> tuple[nn.Module, Tensor, Tensor]:
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=VOCAB, n_positions=32, n_embd=16, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0
    )
    return HFClassifier(GPT2Model(config), 16), *_tokens(seed)


#: Every zoo model by name.
ZOO: dict[str, Callable[..., tuple[nn.Module, Tensor, Tensor]]] = {
    "transformer_encoder": transformer_encoder,
    "lstm_classifier": lstm_classifier,
    "gru_classifier": gru_classifier,
    "residual_cnn": residual_cnn,
    "bert": bert,
    "gpt2": gpt2,
}
