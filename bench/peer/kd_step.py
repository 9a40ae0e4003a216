"""PyTorch peer of `npm run bench:step`: the same models, losses and training steps as the trainer
(src/trainer/models, src/trainer/losses), written the way a researcher would in PyTorch, timed on
the same batches. Reads a JSON spec (sizes and batches, written by bench/step.ts from the resolved
preset) and prints one JSON line of median step times in milliseconds: one round of the bench,
which alternates rounds of ours and of this peer so that both see the same machine load. Each
step kind twice: packed (the decoder's matMuls on the real tokens only, like ours) and padded
(on the whole [B, L] grid, the way Hugging Face / TinyLLaVA training batches run).

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

    def forward(s, b, feats, packed):
        """Logits [len(rows), V] at the loss rows of batch `b`. packed: the decoder's matMuls run
        on the N real tokens only (as ours does), attention gathers them into the padded [B, L]
        grid and back (one index each way); else on the whole padded grid, as Hugging Face and
        TinyLLaVA batches are."""
        B, L = b['B'], b['L']
        tokens, src, rows = (b['tokens'], b['src'], b['rows']) if packed else (b['flat_tokens'], b['flat_src'], b['flat_rows'])
        emb = s.embed[tokens]
        if feats is not None:
            vis = s.p2(gelu(s.p1(feats.reshape(-1, feats.shape[-1]))))
            emb = torch.cat([emb, vis])[src]
        x = emb
        d = x.shape[-1]
        H = s.heads
        dh = d // H
        cos, sin = rope_tables(L, dh, s.theta)
        mask = torch.full((L, L), -1e9).triu(1)
        if packed:
            grid = lambda t: torch.cat([t, t.new_zeros(1, d)])[b['unpack']].view(B, L, H, dh).transpose(1, 2)
            rows_of = lambda o: o.transpose(1, 2).reshape(B * L, d)[b['flat']]
        else:
            grid = lambda t: t.view(B, L, H, dh).transpose(1, 2)
            rows_of = lambda o: o.transpose(1, 2).reshape(B * L, d)
        for blk in s.layers:
            n = blk.ln1(x)
            q, k, v = apply_rope(grid(blk.q(n)), cos, sin), apply_rope(grid(blk.k(n)), cos, sin), grid(blk.v(n))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + mask, -1)
            x = x + blk.o(rows_of(a @ v))
            n2 = blk.ln2(x)
            x = x + blk.down(F.silu(blk.gate(n2)) * blk.up(n2))
        h = s.norm(x)[rows]
        return h @ s.embed.t()


def kd_loss(s_rows, t_rows, targets, nt, bi, np_, w):
    """CE + α L_res + β L_vis + γ L_rel (forward KL, T = 1), means as in docs/method.md."""
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
        t = lambda v, dt=torch.long: torch.tensor(v, dtype=dt)
        B, L, N = b['B'], b['L'], b['N']
        unpack = t(b['unpack'])  # packed row of each flat position, N at padding
        flat = (unpack < N).nonzero().squeeze(1)  # flat position of each packed row, in order
        # The padded grid's inputs, from the packed ones: pad tokens at padding, visual rows after the B*L text rows.
        psrc = t(b['srcIndex'])
        flat_tokens = torch.full((B * L,), b['padId'], dtype=torch.long)
        flat_tokens[flat] = t(b['tokens'])
        flat_src = torch.arange(B * L)
        flat_src[flat] = torch.where(psrc < N, flat, psrc - N + B * L)
        batches.append(dict(B=B, L=L, tokens=t(b['tokens']), src=psrc, rows=t(b['lossRows']), unpack=unpack, flat=flat,
                            flat_tokens=flat_tokens, flat_src=flat_src, flat_rows=t(b['flatLossRows']), targets=t(b['targetIds']),
                            patches=torch.tensor(b['patches']).view(b['Bi'], np_, pd) if b['Bi'] else None, nt=b['Nt'], bi=b['Bi']))

    def timed(model, teacher_model, weights, steps, lr, packed):
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0, eps=1e-8)
        times = []
        for i in range(steps):
            b = batches[i % len(batches)]
            t0 = time.perf_counter()
            with torch.no_grad():
                feats = vit(b['patches'], spec['featureBlocks']) if b['bi'] else None
                t_rows = teacher_model(b, feats, packed) if teacher_model is not None else None
            loss = kd_loss(model(b, feats, packed), t_rows, b['targets'], b['nt'], b['bi'], np_, weights)
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
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads()}
    # The two layouts compute the same function: check it on one batch before timing them.
    with torch.no_grad():
        b = batches[0]
        feats = vit(b['patches'], spec['featureBlocks']) if b['bi'] else None
        diff = (student(b, feats, True) - student(b, feats, False)).abs().max().item()
    if not diff < 1e-4:
        raise SystemExit(f'peer: packed and padded logits differ by {diff}')
    out['packedPaddedMaxDiff'] = diff
    for packed, tag in ((True, ''), (False, 'Padded')):
        for p in teacher.parameters():
            p.requires_grad_(False)
        out['dft' + tag + 'Ms'] = timed(student, teacher, spec['weights'], n + warm, 1e-4, packed)
        out['sft' + tag + 'Ms'] = timed(student, None, ce_only, n + warm, 1e-4, packed)
        for p in teacher.parameters():
            p.requires_grad_(True)
        out['teacherSft' + tag + 'Ms'] = timed(teacher, None, ce_only, max(5, n // 2) + warm, 1e-4, packed)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
