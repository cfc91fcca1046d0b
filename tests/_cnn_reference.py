"""numpy float64 reference of the CNEEP network (methods.md §2.2) in PyTorch conventions (NCHW,
weights [c_out, c_in, ky, kx]), read from stochinfer's flat parameter buffer."""
import numpy as np


def layer_shapes(seq_len, h, w, n_layer, nc):
    """[(kind, c_in, c_out, k, stride, pad)] in order, as methods.md §2.2."""
    out = [("conv", seq_len, nc, 5, 2, 2), ("pool",)]
    for b in range(2, n_layer + 1):
        ci = nc << (b - 2)
        out += [("conv", ci, ci, 3, 1, 1), ("conv", ci, 2 * ci, 3, 1, 1)]
        if b < n_layer:
            out.append(("pool",))
    return out

def numpy_forward(params, x, n_layer, nc):
    """float64 NCHW reference: torch-layout weights w[o, ci, ky, kx] from the flat buffer."""
    n, L, H, W = x.shape
    a = x.astype(np.float64)
    off = 0
    for spec in layer_shapes(L, H, W, n_layer, nc):
        if spec[0] == "pool":
            h2, w2 = a.shape[2] // 2, a.shape[3] // 2
            a = a[:, :, :2 * h2, :2 * w2].reshape(n, a.shape[1], h2, 2, w2, 2).max(axis=(3, 5))
            continue
        _, ci, co, k, s, p = spec
        Wf = params[off: off + co * k * k * ci].reshape(k * k * ci, co).T  # column-major (co x patch)
        b = params[off + co * k * k * ci: off + co * k * k * ci + co]
        off += co * k * k * ci + co
        w = Wf.reshape(co, k, k, ci).transpose(0, 3, 1, 2)  # patch index ci + ci_n*(kx + k*ky) -> [o, ky, kx, ci]
        ap = np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)))
        ho = (a.shape[2] + 2 * p - k) // s + 1
        wo = (a.shape[3] + 2 * p - k) // s + 1
        y = np.zeros((n, co, ho, wo))
        for ky in range(k):
            for kx in range(k):
                patch = ap[:, :, ky: ky + s * ho: s, kx: kx + s * wo: s]  # (n, ci, ho, wo)
                y += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
        a = np.maximum(y + b[None, :, None, None], 0)
    flat = a.transpose(0, 2, 3, 1).reshape(n, -1)  # channel-fastest (y, x, c)
    head = params[off: off + flat.shape[1]]
    return flat @ head + params[off + flat.shape[1]]
