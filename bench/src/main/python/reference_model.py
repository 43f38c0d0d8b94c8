"""A plain-PyTorch Llama decoder (fp32) for the speed comparison of `gradus bench train`.

Written the way Hugging Face's eager LlamaForCausalLM computes (RMSNorm, rotary embeddings with the
rotate-half convention, grouped-query attention with each key/value head repeated for its query
heads, a causal additive mask, softmax in fp32, SwiGLU MLP, untied output head), so that PyTorch
does the work a user of transformers would pay for; LoRA as PEFT adds it (y = W x + (alpha/r) B A x,
A Kaiming-uniform, B zero, no dropout; switched off, the branch is skipped, as PEFT's
disable_adapter skips it); DPO's sequence log-probabilities and sigmoid loss as TRL's DPOTrainer
computes them. Only speed is compared: the numerics of this model are not
tested against Gradus (the engine's golden tests have their own reference).
"""
import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Shape:
    """The benchmark configurations of docs/BENCHMARKS.md: model sizes, sequence length, batch."""

    def __init__(self, vocab, dim, hidden, layers, heads, kv_heads, seq, batch):
        self.vocab, self.dim, self.hidden, self.layers = vocab, dim, hidden, layers
        self.heads, self.kv_heads, self.seq, self.batch = heads, kv_heads, seq, batch
        self.head_dim = dim // heads
        self.eps, self.theta = 1e-5, 10000.0


SHAPES = {
    "small": Shape(vocab=512, dim=128, hidden=344, layers=4, heads=4, kv_heads=2, seq=128, batch=8),
    "medium": Shape(vocab=2048, dim=384, hidden=1024, layers=6, heads=6, kv_heads=2, seq=256, batch=4),
}

PROJECTIONS = ("q", "k", "v", "o", "gate", "up", "down")


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        # x / sqrt(mean(x^2) + eps) * weight
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Linear(nn.Module):
    """y = x W^T, optionally + (alpha/r) (x A^T) B^T: the LoRA branch on a frozen W."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.lora_a = None
        self.lora_b = None
        self.scaling = 0.0
        self.lora_enabled = True

    def add_lora(self, rank, alpha):
        self.weight.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.empty(rank, self.weight.shape[1]))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = nn.Parameter(torch.zeros(self.weight.shape[0], rank))
        self.scaling = alpha / rank
        return [self.lora_a, self.lora_b]

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.lora_a is not None and self.lora_enabled:
            y = y + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scaling
        return y


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class DecoderLayer(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        kv = s.kv_heads * s.head_dim
        self.attention_norm = RmsNorm(s.dim, s.eps)
        self.mlp_norm = RmsNorm(s.dim, s.eps)
        self.proj = nn.ModuleDict({
            "q": Linear(s.dim, s.dim), "k": Linear(s.dim, kv), "v": Linear(s.dim, kv), "o": Linear(s.dim, s.dim),
            "gate": Linear(s.dim, s.hidden), "up": Linear(s.dim, s.hidden), "down": Linear(s.hidden, s.dim)})

    def forward(self, x, cos, sin, mask):
        s, p = self.s, self.proj
        b, t, _ = x.shape
        h = self.attention_norm(x)
        q = p["q"](h).view(b, t, s.heads, s.head_dim).transpose(1, 2)
        k = p["k"](h).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        v = p["v"](h).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = s.heads // s.kv_heads
        # each key/value head serves `group` consecutive query heads (expand, then merge the axes)
        k = k[:, :, None].expand(b, s.kv_heads, group, t, s.head_dim).reshape(b, s.heads, t, s.head_dim)
        v = v[:, :, None].expand(b, s.kv_heads, group, t, s.head_dim).reshape(b, s.heads, t, s.head_dim)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(s.head_dim) + mask
        attended = torch.matmul(torch.softmax(scores, dim=-1), v)
        x = x + p["o"](attended.transpose(1, 2).reshape(b, t, s.dim))
        h = self.mlp_norm(x)
        return x + p["down"](F.silu(p["gate"](h)) * p["up"](h))


class Llama(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.embed = nn.Embedding(s.vocab, s.dim)
        self.layers = nn.ModuleList(DecoderLayer(s) for _ in range(s.layers))
        self.norm = RmsNorm(s.dim, s.eps)
        self.head = Linear(s.dim, s.vocab)
        for name, parameter in self.named_parameters():
            if not name.endswith("norm.weight"):
                nn.init.normal_(parameter, 0.0, 0.02)
        # rotary angles: position * theta^(-2i/head_dim), duplicated for the two halves
        inverse = 1.0 / (s.theta ** (torch.arange(0, s.head_dim, 2).float() / s.head_dim))
        angles = torch.outer(torch.arange(s.seq).float(), inverse)
        angles = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()
        self.mask = torch.full((s.seq, s.seq), float("-inf")).triu(1)

    def add_lora(self, rank, alpha):
        """Freezes every parameter and puts LoRA on the seven projections; returns the trainable ones."""
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        trainable = []
        for layer in self.layers:
            for name in PROJECTIONS:
                trainable += layer.proj[name].add_lora(rank, alpha)
        return trainable

    def forward(self, ids):
        t = ids.shape[1]
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.head(self.norm(x))


def next_token_loss(logits, ids):
    """Mean cross-entropy of each position's prediction of the next token."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


@contextlib.contextmanager
def lora_disabled(model):
    """Within it, every LoRA branch of `model` is skipped: the base model, as PEFT's disable_adapter."""
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    for m in linears:
        m.lora_enabled = False
    try:
        yield
    finally:
        for m in linears:
            m.lora_enabled = True


def sequence_log_probs(logits, ids, start):
    """Per row, the sum of log p(ids[t] | ids[<t]) over the scored positions t >= start."""
    log_probs = torch.log_softmax(logits[:, start - 1:-1], dim=-1)
    return log_probs.gather(-1, ids[:, start:].unsqueeze(-1)).squeeze(-1).sum(-1)


def dpo_sigmoid_loss(policy, reference, beta):
    """DPO's sigmoid loss (Rafailov et al. 2023, eq. 7) over pairs in adjacent rows (chosen, rejected):
    mean of -log sigmoid(beta ((pi_c - pi_r) - (ref_c - ref_r)))."""
    logits = (policy[0::2] - policy[1::2]) - (reference[0::2] - reference[1::2])
    return -F.logsigmoid(beta * logits).mean()
