"""PyTorch peer of `npm run bench:step`: the same models, losses and training steps as the trainer
(src/trainer/models, src/trainer/losses), written the way a researcher would in PyTorch, timed on
the same batches. Reads a JSON spec (sizes and batches, written by bench/step.ts from the resolved
preset) and prints one JSON line of median step times in milliseconds: one round of the bench,
which alternates rounds of ours and of this peer so that both see the same machine load.

Run by bench/step.ts; by hand: python3 bench/peer/kd_step.py spec.json
Needs torch (Debian: apt-get install python3-torch libopenblas0-pthread).
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def gelu(x):
    return F.gelu(x, approximate='tanh')


class ViT(nn.Module):
    """Patch embedding + learned positions + pre-LayerNorm blocks; features of `feature_blocks` blocks."""

    def __init__(s, c, np_, pd):
        super().__init__()
        d = c['dim']
        s.heads, s.dim, s.np = c['heads'], d, np_
        s.patch = nn.Linear(pd, d)
        s.pos = nn.Parameter(torch.randn(np_, d) * 0.02)
        s.blocks = nn.ModuleList()
        for _ in range(c['depth']):
            b = nn.Module()
            b.ln1, b.qkv, b.o = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
            hid = int(d * c['mlpRatio'])
            b.ln2, b.w1, b.w2 = nn.LayerNorm(d), nn.Linear(d, hid), nn.Linear(hid, d)
            s.blocks.append(b)

    def forward(s, x, nblocks):
        B, H = x.shape[0], s.heads
        dh = s.dim // H
        x = s.patch(x - 0.5) + s.pos
        for b in s.blocks[:nblocks]:
            q, k, v = b.qkv(b.ln1(x)).view(B, s.np, 3, H, dh).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1)
            x = x + b.o((a @ v).transpose(1, 2).reshape(B, s.np, s.dim))
            x = x + b.w2(gelu(b.w1(b.ln2(x))))
        return x


class RMSNorm(nn.Module):
    def __init__(s, d, eps):
        super().__init__()
        s.g, s.eps = nn.Parameter(torch.ones(d)), eps

    def forward(s, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps) * s.g


def rope_tables(L, dh, theta):
    inv = 1.0 / theta ** (torch.arange(dh // 2).float() * 2 / dh)
    a = torch.arange(L).float()[:, None] * inv[None]
    return a.cos(), a.sin()


def apply_rope(x, cos, sin):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class Mllm(nn.Module):
    """Projector (Linear-GELU-Linear) + Qwen2-style decoder (RMSNorm, RoPE, q/k/v bias, SwiGLU, tied head)."""

    def __init__(s, c, dv, vocab):
        super().__init__()
        lm, d = c['lm'], c['lm']['dim']
        s.heads, s.theta = lm['heads'], lm['ropeTheta']
        s.p1, s.p2 = nn.Linear(dv, c['projector']['hidden']), nn.Linear(c['projector']['hidden'], d)
        s.embed = nn.Parameter(torch.randn(vocab, d) / math.sqrt(d))
        s.layers = nn.ModuleList()
        for _ in range(lm['layers']):
            b = nn.Module()
            b.ln1, b.ln2 = RMSNorm(d, lm['rmsEps']), RMSNorm(d, lm['rmsEps'])
            b.q, b.k, b.v, b.o = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d, bias=False)
            h = lm['mlpHidden']
            b.gate, b.up, b.down = nn.Linear(d, h, bias=False), nn.Linear(d, h, bias=False), nn.Linear(h, d, bias=False)
            s.layers.append(b)
        s.norm = RMSNorm(d, lm['rmsEps'])

    def forward(s, tokens, src_index, feats, rows):
        """Logits [len(rows), V] at the flat positions `rows` (b*L + i) of the batch."""
        B, L = tokens.shape
        emb = s.embed[tokens.reshape(-1)]
        if feats is not None:
            vis = s.p2(gelu(s.p1(feats.reshape(-1, feats.shape[-1]))))
            emb = torch.cat([emb, vis])[src_index]
        x = emb.view(B, L, -1)
        d = x.shape[-1]
        H = s.heads
        dh = d // H
        cos, sin = rope_tables(L, dh, s.theta)
        mask = torch.full((L, L), -1e9).triu(1)
        for b in s.layers:
            n = b.ln1(x)
            sh = lambda t: t.view(B, L, H, dh).transpose(1, 2)
            q, k, v = apply_rope(sh(b.q(n)), cos, sin), apply_rope(sh(b.k(n)), cos, sin), sh(b.v(n))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + mask, -1)
            x = x + b.o((a @ v).transpose(1, 2).reshape(B, L, d))
            n2 = b.ln2(x)
            x = x + b.down(F.silu(b.gate(n2)) * b.up(n2))
        h = s.norm(x).reshape(B * L, d)[rows]
        return h @ s.embed.t()


def kd_loss(s_rows, t_rows, targets, nt, bi, np_, w):
    """CE + α L_res + β L_vis + γ L_rel (forward KL, T = 1), means as in method.md."""
    s_res, s_vis = s_rows[:nt], s_rows[nt:]
    total = F.cross_entropy(s_res, targets) * w['ce']
    if t_rows is None:
        return total
    t_res, t_vis = t_rows[:nt], t_rows[nt:]
    kl = lambda t, s: (F.softmax(t, -1) * (F.log_softmax(t, -1) - F.log_softmax(s, -1))).sum(-1).mean()
    total = total + w['res'] * kl(t_res, s_res)
    if bi > 0:
        total = total + w['vis'] * kl(t_vis, s_vis)
        zs, zt = s_vis.view(bi, np_, -1), t_vis.view(bi, np_, -1)
        rs, rt = (zs @ zs.transpose(1, 2)).reshape(bi, -1), (zt @ zt.transpose(1, 2)).reshape(bi, -1)
        total = total + w['rel'] * (1 - F.cosine_similarity(rs, rt, dim=1, eps=1e-12)).mean()
    return total


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    c = spec['config']
    np_, pd, vocab = spec['np'], spec['patchDim'], spec['vocab']
    vit = ViT(c['vision'], np_, pd)
    teacher, student = Mllm(c['teacher'], c['vision']['dim'], vocab), Mllm(c['student'], c['vision']['dim'], vocab)
    for p in list(vit.parameters()) + list(teacher.parameters()):
        p.requires_grad_(False)
    batches = []
    for b in spec['batches']:
        t = lambda k, dt=torch.long: torch.tensor(b[k], dtype=dt)
        batches.append(dict(tokens=t('tokens').view(b['B'], b['L']), src=t('srcIndex'), rows=t('lossRows'), targets=t('targetIds'),
                            patches=torch.tensor(b['patches']).view(b['Bi'], np_, pd) if b['Bi'] else None, nt=b['Nt'], bi=b['Bi']))

    def timed(model, teacher_model, weights, steps, lr):
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0, eps=1e-8)
        times = []
        for i in range(steps):
            b = batches[i % len(batches)]
            t0 = time.perf_counter()
            with torch.no_grad():
                feats = vit(b['patches'], spec['featureBlocks']) if b['bi'] else None
                t_rows = teacher_model(b['tokens'], b['src'], feats, b['rows']) if teacher_model is not None else None
            loss = kd_loss(model(b['tokens'], b['src'], feats, b['rows']), t_rows, b['targets'], b['nt'], b['bi'], np_, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times[min(3, steps - 1):])

    # One round of the bench: each step kind for spec['steps'] steps (the teacher's half as many),
    # after a few warm-up steps; bench/step.ts alternates rounds with its own.
    n = spec['steps']
    ce_only = {'ce': 1, 'res': 0, 'vis': 0, 'rel': 0}
    warm = 3
    out = {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'dftMs': timed(student, teacher, spec['weights'], n + warm, 1e-4),
        'sftMs': timed(student, None, ce_only, n + warm, 1e-4),
    }
    for p in teacher.parameters():
        p.requires_grad_(True)
    out['teacherSftMs'] = timed(teacher, None, ce_only, max(5, n // 2) + warm, 1e-4)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
