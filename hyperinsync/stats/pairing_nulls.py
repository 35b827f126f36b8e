r"""The pairing nulls: pseudo-dyads and epoch (or segment) shuffles from all-pairs products.

Both nulls pair A's band signals with B's in many ways and average a measure over epochs.
Every pairing they can draw is computed once, as one batched product per chunk, and the
surrogates only gather their values:

- pseudo-dyads (:func:`_pseudo_null`): within each epoch, every A person x every B person
  at once (people folded into the channel axis: one ``(Pa Ca, L) @ (L, Pb Cb)`` product per
  epoch), summed over each pairing's valid epochs;
- epoch shuffles (:func:`_pairing_null`): A's epoch *e* with every epoch *l* of B (one
  product per tile of A's and B's epochs), reduced to ROI pairs, then each surrogate sums
  the values of its pairs :math:`(e, \pi_k(e))`. The cost is that of the :math:`E^2`
  epoch pairs, whatever the number of surrogates.

The measures that are functions of sums over samples (PLV, coh, imcoh:
``hyperinsync.sync.sums.FROM_SUMS``) take their operands once per band -- unit phasors or
the signals, B conjugated once, summed powers -- and each tile's cross sums
:math:`\sum a \bar b` are one BLAS product with no copy of B: the values are those of
:func:`~hyperinsync.sync.measures.compute_measure` (the same sums, to float rounding). Other
measures (wPLI, ccorr, envcorr) go through ``compute_measure`` per chunk. Chunks run in the
signals' ``n_jobs`` threads (BLAS on one thread, :func:`~hyperinsync.stats.surrogate_sync`)
and their sums are added in chunk order, so a seed gives the same values with any
``n_jobs``.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..backend import ThreadScratch, scratch
from ..sync.sums import FROM_SUMS, power, unit, value_from_sums
from .nulls import _fold, _pair_shape, _values


def _ordered_sum(func, chunks, n_jobs, bk):
    """Sum of ``func(chunk)`` over ``chunks``, added in chunk order (any ``n_jobs``).

    With NumPy the chunks run in ``n_jobs`` threads, at most two per thread ahead of the
    sum (bounded memory); with CuPy one after another.
    """
    workers = min(len(chunks), max(1, int(n_jobs))) if bk.name == "numpy" else 1
    if workers == 1:
        total = None
        for c in chunks:
            part = func(c)
            total = part if total is None else _add(total, part)
        return total
    total = None
    with ThreadPoolExecutor(workers) as pool:
        todo, running = iter(chunks), deque()
        for c in todo:
            running.append(pool.submit(func, c))
            if len(running) >= 2 * workers:
                break
        while running:
            part = running.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                running.append(pool.submit(func, nxt))
            total = part if total is None else _add(total, part)
    return total


def _add(total, part):
    for t, p in zip(total, part):
        t += p
    return total


def _operands(zs, names, es, conj, folded, xp, work):
    """One side's operands of the ``FROM_SUMS`` measures ``names``: ``{kind: (x, power)}``.

    ``zs``: signals (E, F, C, L), side by side in the channel axis of the result, which
    holds epochs ``es`` (a slice). ``kind`` True: unit phasors (PLV); False: the signals
    and their summed powers (coh, imcoh), as :func:`~hyperinsync.sync.measures.compute_measure`
    makes them; conjugated if ``conj`` (B: each cross sum is then ``a @ b_conj.T``, no
    copy). ``folded``: laid out as (F, E * C, L), epochs folded into the channel axis
    (:func:`_fold`), powers as (F, E * C); else (E, F, C, L) and (E, F, C). The signals are
    ``work``'s scratch arrays.
    """
    zs = [z[es] for z in zs]
    ops = {}
    for kind in sorted({FROM_SUMS[m][0] for m in names}):
        pw = None
        if not kind:
            pw = xp.concatenate([xp.sum(power(z), axis=-1) for z in zs], axis=-1)
            pw = pw.swapaxes(0, 1).reshape(pw.shape[1], -1) if folded else pw
        ops[kind] = (_operand(zs, kind, conj, folded, xp, work, f"{kind}{conj}"), pw)
    return ops


def _operand(zs, kind, conj, folded, xp, work, key):
    """Signals ``zs`` in one C-contiguous array: (E, F, sum of C, L), or (F, E C, L) if folded.

    Unit phasors if ``kind``, conjugated if ``conj``; written piece by piece into a scratch
    array of ``work`` (a fresh array of hundreds of MB costs more in page faults than the
    arithmetic done in it).
    """
    n_ep, n_f, _, n_l = zs[0].shape
    n_c = sum(z.shape[2] for z in zs)
    shape = (n_f, n_ep * n_c, n_l) if folded else (n_ep, n_f, n_c, n_l)
    out = scratch(work, key, shape, zs[0].dtype, xp)
    view = out.reshape(n_f, n_ep, n_c, n_l).transpose(1, 0, 2, 3) if folded else out
    c0 = 0
    for z in zs:
        c1 = c0 + z.shape[2]
        step = max(1, (4 << 20) // (n_f * z.shape[2] * n_l * z.dtype.itemsize))  # ~4 MB
        for e0 in range(0, n_ep, step):
            part = unit(z[e0 : e0 + step]) if kind else z[e0 : e0 + step]
            dst = view[e0 : e0 + step, :, c0:c1]
            if conj:
                xp.conjugate(part, out=dst)
            else:
                dst[...] = part
        c0 = c1
    return out


def _from_cross(names, kind, cross, n, pa, pb, signed, work):
    """Yield ``(name, values)`` of the measures of ``kind`` from one tile's cross sums.

    The values live in ``work``'s scratch arrays until the next measure.
    """
    for m in names:
        if FROM_SUMS[m][0] == kind:
            yield m, value_from_sums(m, cross, n, pa, pb, signed, work)


def _pseudo_null(prep, measures, pairs, n_dyads, bk, max_bytes):
    """Values of every (person_a, person_b) pairing from one product per epoch and chunk.

    Returns the null (n_pairs, M, B, C, C) and the real dyads (n_dyads, M, B, C, C).
    """
    xp = bk.xp
    pa = np.unique(pairs[:, 0].tolist() + list(range(0, 2 * n_dyads, 2)))
    pb = np.unique(pairs[:, 1].tolist() + list(range(1, 2 * n_dyads, 2)))
    masks = np.array([prep.masks[p // 2] for p in range(2 * n_dyads)], float)
    c_a, c_b = _pair_shape(prep)
    w = masks[pa][:, None, :] * masks[pb][None, :, :]  # (Pa, Pb, E)
    count = w.sum(axis=-1)
    if np.any(count == 0):
        raise ValueError(
            "Some pairings have no epoch free of BAD annotations in both recordings: remove "
            "those dyads or shorten the BAD spans."
        )
    w_dev = xp.asarray(w)  # once: every band and chunk slices it on the device
    fast = [m for m in measures if m in FROM_SUMS]
    n_a, n_b = len(pa) * c_a, len(pb) * c_b
    tmp = ThreadScratch()
    budget = bk.chunk_bytes(max_bytes)
    total = xp.zeros((len(measures), len(prep.bands), len(pa), c_a, len(pb), c_b))
    for bi, b in enumerate(prep.bands):
        sig = prep.signals[b]
        n_ep, n_f, _, n_l = sig[0].shape
        za, zb = [sig[p] for p in pa], [sig[p] for p in pb]
        item = sig[0].dtype.itemsize

        def chunk(es, za=za, zb=zb, n_f=n_f, n_l=n_l):
            n_c = es.stop - es.start
            wk = w_dev[:, :, es]
            out = xp.zeros((len(measures),) + total.shape[2:])
            ops_a = _operands(za, fast, es, False, False, xp, tmp.work)
            ops_b = _operands(zb, fast, es, True, False, xp, tmp.work)
            for kind, (a, sa) in ops_a.items():
                bc, sb = ops_b[kind]
                cross = xp.matmul(
                    a, bc.swapaxes(-1, -2), out=tmp(f"s{kind}", (n_c, n_f, n_a, n_b), a.dtype, xp)
                )  # (Ec, F, Na, Nb)
                for m, v in _from_cross(fast, kind, cross, n_l, sa, sb, prep.signed, tmp.work):
                    v = v[:, 0] if n_f == 1 else v.mean(axis=1)
                    v = v.reshape(n_c, len(pa), c_a, len(pb), c_b)
                    # mean over each pairing's valid epochs (BAD windows of either dyad)
                    out[measures.index(m)] = xp.einsum("eiajb,ije->iajb", v, wk)
            for m in measures:
                if m not in FROM_SUMS:
                    v = _values(
                        m,
                        xp.concatenate([z[es] for z in za], axis=2),  # (Ec, F, Pa*C, L)
                        xp.concatenate([z[es] for z in zb], axis=2),
                        prep.signed,
                    )
                    v = v.reshape(n_c, len(pa), c_a, len(pb), c_b)
                    out[measures.index(m)] = xp.einsum("eiajb,ije->iajb", v, wk)
            return (out,)

        # per epoch: operands, cross sums and values of each kind; the other measures' copies
        # of the signals and products
        n_kinds = len({FROM_SUMS[m][0] for m in fast})
        per_ep = n_f * (n_kinds * (n_a * n_b * (item + 8) + (n_a + n_b) * n_l * item))
        per_ep += n_f * (len(measures) - len(fast)) * (24 * n_a * n_b + 16 * (n_a + n_b) * n_l)
        step = int(max(1, budget // max(per_ep, 1)))
        chunks = [slice(e0, min(n_ep, e0 + step)) for e0 in range(0, n_ep, step)]
        total[:, bi] = _ordered_sum(chunk, chunks, prep.sig.n_jobs, bk)[0]
    total = bk.to_numpy(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total / count[:, None, :, None]
    ia = {p: k for k, p in enumerate(pa)}
    ib = {p: k for k, p in enumerate(pb)}
    null = np.stack([means[:, :, ia[a], :, ib[b], :] for a, b in pairs])
    real = np.stack([means[:, :, ia[2 * d], :, ib[2 * d + 1], :] for d in range(n_dyads)])
    return null, real


def _pairing_null(prep, measures, perms, bk, max_bytes, reducer=None):
    """Within-dyad null from all epoch-k-of-A x epoch-l-of-B values.

    ``perms`` (K, E): surrogate k pairs A's epoch e with B's epoch perms[k, e]. A chunk of
    A's epochs gets its values with every epoch of B (products in tiles of B's epochs that
    stay near the caches), reduced to ROI pairs when ``reducer`` = (Wa, Wb) is given
    (``Wa @ V @ Wb``); the surrogates then gather theirs from them on the device, so no
    surrogate copies B's signals and nothing per epoch or surrogate goes to the host. Cost
    ~E^2 pairings, at most that of K*E when K >= E.
    """
    xp = bk.xp
    mask = prep.masks[0]
    n_sur = len(perms)
    c_a, c_b = _pair_shape(prep)
    if reducer is not None:
        wa, wb = (xp.asarray(w, dtype=xp.float32) for w in reducer)
    out_a, out_b = (c_a, c_b) if reducer is None else (reducer[0].shape[0], reducer[1].shape[1])
    n_pair = out_a * out_b
    weight = mask[:, None] & mask[perms.T]  # (E, K): both windows free of BAD spans
    count = weight.sum(axis=0)
    if np.any(count == 0):
        raise ValueError("A surrogate pairs no BAD-free epochs: too few clean epochs.")
    perms_dev = xp.asarray(perms)  # the draws go to the device once
    weight_dev = xp.asarray(weight.T, dtype=xp.float64)  # (K, E)
    fast = [m for m in measures if m in FROM_SUMS]
    tmp = ThreadScratch()
    budget = bk.chunk_bytes(max_bytes)
    null = xp.zeros((n_sur, len(measures), len(prep.bands), out_a, out_b))

    def reduce(v, n_c, n_e):
        """(Ec, Ca, Eb, Cb) values -> (Ec, Eb, n_pair), ROI pairs with ``reducer``."""
        if reducer is None:
            return v.transpose(0, 2, 1, 3).reshape(n_c, n_e, n_pair)
        v = xp.matmul(wa, v.reshape(n_c, c_a, n_e * c_b))  # (Ec, Ra, Eb * Cb)
        v = xp.matmul(v.reshape(-1, c_b), wb)  # (Ec * Ra * Eb, Rb)
        return v.reshape(n_c, out_a, n_e, out_b).transpose(0, 2, 1, 3).reshape(n_c, n_e, n_pair)

    work = {}  # B's operands, one buffer for every band
    for bi, b in enumerate(prep.bands):
        za, zb = prep.signals[b][0], prep.signals[b][1]
        n_ep, n_f, _, n_l = za.shape
        # B whole, (F, E * Cb, L): epochs folded into the signal axis
        ops_b = _operands([zb], fast, slice(None), True, True, xp, work)
        zbf = _fold(zb) if len(fast) < len(measures) else None
        item, rdt = za.dtype.itemsize, np.finfo(za.dtype).dtype
        # A's epochs per chunk: products of a few hundred rows run near the GEMM's peak
        # (their values with all of B's epochs: within the budget)
        n_c = min(-(-256 // c_a), budget // (2 * n_ep * n_pair * len(measures) * item))
        n_c = int(min(n_ep, max(1, n_c)))
        # B's epochs per tile: its cross sums and values near the caches
        per_b = n_f * n_c * c_a * c_b * (item + 8)
        n_t = int(min(n_ep, max(1, (budget // 4) // per_b)))

        def chunk(es, za=za, zbf=zbf, ops_b=ops_b, n_f=n_f, n_l=n_l, n_ep=n_ep):
            n_c = es.stop - es.start
            vals = {m: tmp(f"v{m}", (n_c, n_ep, n_pair), rdt, xp) for m in measures}
            ops_a = _operands([za], fast, es, False, True, xp, tmp.work)
            for kind, (a, p_a) in ops_a.items():
                bc, p_b = ops_b[kind]
                for l0 in range(0, n_ep, n_t):
                    cols = slice(l0 * c_b, min(n_ep, l0 + n_t) * c_b)
                    n_e = (cols.stop - cols.start) // c_b
                    cross = xp.matmul(
                        a,
                        bc[:, cols].swapaxes(-1, -2),
                        out=tmp(f"s{kind}", (n_f, n_c * c_a, n_e * c_b), a.dtype, xp),
                    )  # (F, Ec Ca, Et Cb)
                    p_t = None if p_b is None else p_b[:, cols]
                    for m, v in _from_cross(
                        fast, kind, cross, n_l, p_a, p_t, prep.signed, tmp.work
                    ):
                        v = v[0] if n_f == 1 else v.mean(axis=0)
                        vals[m][:, l0 : l0 + n_e] = reduce(v.reshape(n_c, c_a, n_e, c_b), n_c, n_e)
            for m in measures:
                if m not in FROM_SUMS:
                    v = _values(m, _fold(za[es]), zbf, prep.signed)[0]
                    vals[m][:] = reduce(v.reshape(n_c, c_a, n_ep, c_b), n_c, n_ep)
            return (_gather(vals, measures, perms_dev, weight_dev, es, n_ep, budget, xp),)

        chunks = [slice(e0, min(n_ep, e0 + n_c)) for e0 in range(0, n_ep, n_c)]
        null[:, :, bi] = _ordered_sum(chunk, chunks, prep.sig.n_jobs, bk)[0].reshape(
            n_sur, len(measures), out_a, out_b
        )
    return bk.to_numpy(null) / count[:, None, None, None, None]


def _gather(vals, measures, perms_dev, weight_dev, es, n_ep, budget, xp):
    """Each surrogate's sum over A's epochs ``es`` of its pairs' values: (K, M, n_pair).

    ``vals[m]`` (Ec, E, n_pair): the values of A's epochs ``es`` with every epoch of B.
    Weights are 1 where both epochs are free of BAD spans, 0 elsewhere.
    """
    n_sur = perms_dev.shape[0]
    n_c = es.stop - es.start
    n_pair = next(iter(vals.values())).shape[-1]
    out = xp.empty((n_sur, len(measures), n_pair))
    first = xp.arange(n_c)[None, :] * n_ep  # row of (A's epoch e, B's epoch 0)
    # surrogates per gather: their values of the chunk, in float32 and float64
    k_step = int(max(1, budget // (12 * n_c * n_pair)))
    for mi, m in enumerate(measures):
        rows = vals[m].reshape(n_c * n_ep, n_pair)  # row e * E + l: A's epoch e, B's l
        for k0 in range(0, n_sur, k_step):
            ks = slice(k0, k0 + k_step)
            picked = rows[first + perms_dev[ks, es]].astype(xp.float64)
            out[ks, mi] = xp.matmul(weight_dev[ks, None, es], picked)[:, 0]
    return out
