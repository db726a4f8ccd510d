r"""The truth: the network's own Jacobian product, evaluated end to end at high precision.

The quantity gradproof reports is defined once (``TRUTH``): the exact Jacobian product
d s_T / d s_0 = J_T ... J_1 of the network on its weights, biases, inputs and initial state,
each taken as the exact binary number it is stored as (a float64 is an exact rational). Every
J_t depends on the exact trajectory (pre-activations, gates, states), so an engine that only
multiplies float64-computed Jacobians exactly encloses the wrong number as soon as the float64
trajectory drifts (chaos: the error grows like e^{lambda t}) or a derivative formula cancels
(saturation: s (1 - s) = 0 in float64 for z > 37).

Here the *whole* forward pass (drives W x_t + b, pre-activations, gates, states), the activation
derivatives (cancellation-free: sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2, tanh'(z) = 4 e^{-2|z|} /
(1 + e^{-2|z|})^2, 1 - sigma(a) written sigma(-a)) and the product are evaluated by one generic
implementation of the three cells (PyTorch conventions, equations in numerics.cells) over a small
backend of scalar operations:

* ``MpBackend`` (the ``reference`` engine): mpmath numbers at p bits (unbounded exponent) for the
  forward pass and the derivatives; the matrix product in python-flint at the same p bits with
  every radius dropped (plain p-bit floating point in C, as mpmath's would be but ~50x faster).
  Run at p and at a higher p' until the two values of log10 ||P_T||_2 agree to the printed digits.
* ``ArbBackend`` (the ``certified`` engine): Arb balls (python-flint ``arb``/``arb_mat``; Johansson
  2017) throughout, so the final ball contains the truth rigorously; the precision is raised
  adaptively (a chaotic trajectory loses about lambda T / ln 2 bits) until the requested bits are
  certified, or the result says how many were.

Stacks: ``params`` a tuple of layers is the whole stack (state: every layer's state, layer l reads
h^{l-1}_t); a :class:`LayerOfStack` is one layer K on the inputs it sees in the stack. In both, the
h passed up the stack is a backend number (mpmath / Arb ball), never a float64 rounding of it.

ReLU in balls: relu(z) is z or 0 when the sign of z is certain, 0 for an exact zero, else the
hull [0, max(z)]; relu'(z) is 1 / 0 when the sign is certain, 0 at an exact 0 (PyTorch's
convention), else the ball [0, 1] (the truth is one of the two; more precision decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from gradproof.numerics.cells import GRUParams, LSTMParams, RNNParams
from gradproof.numerics.engines import LOG10_2, TreeProduct, enclose_log10_norm
from gradproof.numerics.errors import InputError

__all__ = ["TRUTH", "NetworkProduct", "network_reference", "network_certified", "network_jacobians", "wrapping_estimate",
           "MpBackend", "ArbBackend", "PRINTED_DIGITS", "LayerOfStack"]

TRUTH = ("the exact Jacobian product d s_T / d s_0 = J_T ... J_1 of the network on its weights, biases, inputs "
         "and initial state taken as the exact binary numbers they are stored as (float64 values are exact "
         "rationals; a layer stored with two biases, PyTorch's bias_ih and bias_hh, has their exact sum as "
         "its bias), trajectory, gates and activation "
         "derivatives included; reported as log10 of its spectral norm. fast approximates it in float64; "
         "reference computes it in mpmath at a working precision raised until two precisions agree to the "
         "printed digits; certified encloses it in Arb ball arithmetic")

#: log10 ||P_T||_2 is printed with 15 significant digits (15 decimals when |value| < 1)
PRINTED_DIGITS = 15


# ----------------------------------------------------------------------------- backends
class MpBackend:
    """mpmath scalars at the current mpmath precision (use inside ``mpmath.workprec``)."""

    name = "mpmath"

    def point(self, x):
        return mpmath.mpf(float(x))  # a float64 converts exactly

    def prepare(self, A):
        """A float64 matrix as rows of exact scalars."""
        return [[mpmath.mpf(v) for v in row] for row in np.asarray(A, dtype=np.float64).tolist()]

    def matvec(self, W, v):
        return [mpmath.fdot(row, v) for row in W]

    def exp(self, x):
        return mpmath.exp(x)

    def tanh(self, x):
        return mpmath.tanh(x)

    def is_positive(self, x):
        return x > 0

    def is_nonpositive(self, x):
        return x <= 0

    def unit_interval(self):  # relu' when the sign of z is unknown: never for points
        raise AssertionError("unreachable for mpmath points")

    def relu_hull(self, x):  # pragma: no cover - points always have a sign
        raise AssertionError("unreachable for mpmath points")

    def to_arb_rows(self, rows, flint):
        """Exact conversion of mpf rows to an arb_mat of points."""
        arb = flint.arb

        def conv(x):
            sign, man, exp, _ = mpmath.mpf(x)._mpf_
            return arb(0) if man == 0 else arb((-int(man) if sign else int(man), int(exp)))

        return flint.arb_mat([[conv(x) for x in row] for row in rows])


class ArbBackend:
    """Arb balls at flint's current precision (use inside a saved/restored ``flint.ctx.prec``)."""

    name = "arb"

    def __init__(self, flint):
        self.flint = flint
        self.arb = flint.arb

    def point(self, x):
        return self.arb(float(x))

    def prepare(self, A):
        return self.flint.arb_mat(np.asarray(A, dtype=np.float64).tolist())

    def matvec(self, W, v):
        col = W * self.flint.arb_mat([[x] for x in v])
        return [col[i, 0] for i in range(col.nrows())]

    def exp(self, x):
        return x.exp()

    def tanh(self, x):
        return x.tanh()

    def is_positive(self, x):
        return x > 0  # certainly positive

    def is_nonpositive(self, x):
        return x < 0 or x == 0  # certainly negative, or an exact zero

    def unit_interval(self):
        return self.arb(0.5, 0.5)

    def relu_hull(self, x):
        return self.arb(0).union(x.upper())  # [0, max z] contains max(0, z) for every z in x

    def to_arb_rows(self, rows, flint):
        return flint.arb_mat(rows)


# ----------------------------------------------------------------------------- activations
def _sigmoid(B, z):
    return 1 / (1 + B.exp(-z))


def _dsigmoid(B, z):
    e = B.exp(-abs(z))
    return e / ((1 + e) * (1 + e))


def _dtanh(B, z):
    e = B.exp(-2 * abs(z))
    return 4 * e / ((1 + e) * (1 + e))


def _act(B, name, z):
    if name == "tanh":
        return B.tanh(z)
    if name == "sigmoid":
        return _sigmoid(B, z)
    if name == "relu":
        if B.is_positive(z):
            return z
        if B.is_nonpositive(z):
            return 0 * z
        return B.relu_hull(z)
    return z


def _dact(B, name, z):
    if name == "tanh":
        return _dtanh(B, z)
    if name == "sigmoid":
        return _dsigmoid(B, z)
    if name == "relu":
        if B.is_positive(z):
            return B.point(1.0)
        if B.is_nonpositive(z):
            return B.point(0.0)  # PyTorch: relu'(0) = 0
        return B.unit_interval()
    return B.point(1.0)


# ----------------------------------------------------------------------------- cells
def _vec(B, x):
    if isinstance(x, list):  # already backend scalars (the h of the layer below, in a stack)
        return x
    return [B.point(v) for v in np.asarray(x, dtype=np.float64).tolist()]


def _bias(B, p):
    """The layer's bias in the backend: the exact sum bias_ih + bias_hh of the two stored vectors
    when the layer keeps them (``bias_split``, PyTorch layouts read by numerics.checkpoint), so
    that the truth does not depend on the float64 rounding of their sum; else the stored ``b``."""
    split = getattr(p, "bias_split", None)
    if split is None:
        return _vec(B, p.b)
    return _add(_vec(B, split[0]), _vec(B, split[1]))


def _rows(B, M, nrows, ncols):
    """A prepared matrix as rows of scalars."""
    if B.name == "arb":
        return [[M[i, j] for j in range(ncols)] for i in range(nrows)]
    return M


def _add(a, b):
    return [x + y for x, y in zip(a, b)]


def _rnn_steps(B, p: RNNParams, inputs, s0, input_jacobian=False):
    """Yield (J_t rows, z_t) of c_t = act(W_rec c_{t-1} + W_in x_t + b) (and, if asked, the rows
    of d c_t / d x_t and c_t itself, for stacks)."""
    W, Win = B.prepare(p.W_rec), B.prepare(p.W_in)
    Wrows = [[W[i, j] for j in range(p.hidden)] for i in range(p.hidden)] if B.name == "arb" else W
    Xrows = _rows(B, Win, p.hidden, p.input_size)
    b = _bias(B, p)
    c = _vec(B, s0)
    for x in inputs:
        z = _add(_add(B.matvec(W, c), B.matvec(Win, _vec(B, x))), b)
        d = [_dact(B, p.activation, zi) for zi in z]
        c = [_act(B, p.activation, zi) for zi in z]
        out = {"full": [[d[i] * w for w in Wrows[i]] for i in range(p.hidden)]}
        if input_jacobian:
            out["input"] = [[d[i] * w for w in Xrows[i]] for i in range(p.hidden)]
            out["h"] = c
        yield out, z


def _blocks(B, M, n, k):
    """Rows of the k-th (n x n) row block of a prepared (G n x m) matrix, as scalars."""
    if B.name == "arb":
        return [[M[k * n + i, j] for j in range(M.ncols())] for i in range(n)]
    return M[k * n:(k + 1) * n]


def _lstm_steps(B, p: LSTMParams, inputs, s0, cell_paths: bool = False, input_jacobian=False):
    """Yield the LSTM's full (h, c) Jacobian rows (and, if asked, the article's cell-path terms
    A + B + C + D with the corrected and the article's D_t), see numerics.cells."""
    n = p.hidden
    Wh, Wx = B.prepare(p.W_hh), B.prepare(p.W_ih)
    U = {g: _blocks(B, Wh, n, k) for k, g in enumerate("ifgo")}
    Wi = {g: _blocks(B, Wx, n, k) for k, g in enumerate("ifgo")} if input_jacobian else None
    d_in = p.input_size
    b = _bias(B, p)
    s0 = np.asarray(s0, dtype=np.float64)
    h, c = _vec(B, s0[:n]), _vec(B, s0[n:])
    K = None  # o_{t-1} tanh'(c_{t-1}); h_0 does not depend on c_0
    zero = B.point(0.0)
    for x in inputs:
        a = _add(_add(B.matvec(Wh, h), B.matvec(Wx, _vec(B, x))), b)
        ai, af, ag, ao = (a[k * n:(k + 1) * n] for k in range(4))
        i = [_sigmoid(B, v) for v in ai]
        f = [_sigmoid(B, v) for v in af]
        g = [B.tanh(v) for v in ag]
        o = [_sigmoid(B, v) for v in ao]
        c_new = [f[r] * c[r] + i[r] * g[r] for r in range(n)]
        th = [B.tanh(v) for v in c_new]
        dtc = [_dtanh(B, v) for v in c_new]
        ci = [g[r] * _dsigmoid(B, ai[r]) for r in range(n)]
        cf = [c[r] * _dsigmoid(B, af[r]) for r in range(n)]
        cg = [i[r] * _dtanh(B, ag[r]) for r in range(n)]
        co = [th[r] * _dsigmoid(B, ao[r]) for r in range(n)]
        dc_dh = [[cf[r] * U["f"][r][j] + ci[r] * U["i"][r][j] + cg[r] * U["g"][r][j] for j in range(n)]
                 for r in range(n)]
        rows = []
        for r in range(n):
            od = o[r] * dtc[r]
            rows.append([co[r] * U["o"][r][j] + od * dc_dh[r][j] for j in range(n)]
                        + [od * f[r] if j == r else zero for j in range(n)])
        for r in range(n):
            rows.append(list(dc_dh[r]) + [f[r] if j == r else zero for j in range(n)])
        out = {"full": rows}
        if input_jacobian:
            dc_du = [[cf[r] * Wi["f"][r][j] + ci[r] * Wi["i"][r][j] + cg[r] * Wi["g"][r][j] for j in range(d_in)]
                     for r in range(n)]
            out["input"] = ([[co[r] * Wi["o"][r][j] + o[r] * dtc[r] * dc_du[r][j] for j in range(d_in)]
                             for r in range(n)] + dc_du)
            out["h"] = [o[r] * th[r] for r in range(n)]
        if cell_paths:
            ga = [i[r] * _dsigmoid(B, ag[r]) for r in range(n)]  # the article's sigma'(a_g)
            Kt = K if K is not None else [zero] * n
            base = [[(cf[r] * U["f"][r][j] + ci[r] * U["i"][r][j]) * Kt[j] for j in range(n)] for r in range(n)]
            out["cell_path"] = [[base[r][j] + cg[r] * U["g"][r][j] * Kt[j] + (f[r] if j == r else zero)
                                 for j in range(n)] for r in range(n)]
            out["article_cell_path"] = [[base[r][j] + ga[r] * U["g"][r][j] * Kt[j] + (f[r] if j == r else zero)
                                         for j in range(n)] for r in range(n)]
        K = [o[r] * dtc[r] for r in range(n)]
        h, c = [o[r] * th[r] for r in range(n)], c_new
        yield out, a


def _gru_steps(B, p: GRUParams, inputs, s0, input_jacobian=False):
    """Yield dh_t/dh_{t-1} rows of nn.GRUCell (1 - z written sigma(-a_z): no cancellation)."""
    n = p.hidden
    Wh, Wx = B.prepare(p.W_hh), B.prepare(p.W_ih)
    Whr, Whz, Whn = (_blocks(B, Wh, n, k) for k in range(3))
    Wxr, Wxz, Wxn = (_blocks(B, Wx, n, k) for k in range(3)) if input_jacobian else (None,) * 3
    bi, bh = _vec(B, p.b_ih), _vec(B, p.b_hh)
    h = _vec(B, s0)
    for x in inputs:
        gi = _add(B.matvec(Wx, _vec(B, x)), bi)
        gh = _add(B.matvec(Wh, h), bh)
        ar = [gi[k] + gh[k] for k in range(n)]
        az = [gi[n + k] + gh[n + k] for k in range(n)]
        hn = gh[2 * n:]
        r = [_sigmoid(B, v) for v in ar]
        z = [_sigmoid(B, v) for v in az]
        omz = [_sigmoid(B, -v) for v in az]  # 1 - z
        an = [gi[2 * n + k] + r[k] * hn[k] for k in range(n)]
        cand = [B.tanh(v) for v in an]
        dn = [_dtanh(B, v) for v in an]
        dr = [hn[k] * _dsigmoid(B, ar[k]) for k in range(n)]
        dz = [(h[k] - cand[k]) * _dsigmoid(B, az[k]) for k in range(n)]
        rows = [[omz[q] * dn[q] * (r[q] * Whn[q][j] + dr[q] * Whr[q][j]) + dz[q] * Whz[q][j]
                 + (z[q] if j == q else 0) for j in range(n)] for q in range(n)]
        out = {"full": rows}
        if input_jacobian:
            out["input"] = [[omz[q] * dn[q] * (Wxn[q][j] + dr[q] * Wxr[q][j]) + dz[q] * Wxz[q][j]
                             for j in range(p.input_size)] for q in range(n)]
        h = [omz[k] * cand[k] + z[k] * h[k] for k in range(n)]
        if input_jacobian:
            out["h"] = h
        yield out, ar + az + an


@dataclass(frozen=True)
class LayerOfStack:
    """Layer K = len(below) of a stack, analysed alone (``--layer K``): the product of its own step
    Jacobians J^K_t = d s^K_t / d s^K_{t-1} at the inputs it sees in the stack, u_t = h^{K-1}_t.

    Those inputs are the outputs of the layers ``below`` (0..K-1, zero initial states) on the
    network's inputs x, evaluated in the same backend as layer K (mpmath at the working precision,
    or Arb balls): never the float64 outputs of the lower layers, which differ from the network's
    own values (chaos, saturation) and would make the engine enclose another network's product."""

    below: tuple
    layer: object

    def __post_init__(self):
        if not self.below:
            raise InputError("LayerOfStack needs at least one layer below (use the layer's params for layer 0)")
        layers = self.below + (self.layer,)
        for lo, hi in zip(layers, layers[1:]):
            if hi.input_size != lo.hidden:
                raise InputError(f"layer with input size {hi.input_size} cannot read a layer of hidden size {lo.hidden}")

    @property
    def hidden(self) -> int:
        return self.layer.hidden

    @property
    def input_size(self) -> int:
        return self.below[0].input_size


def _cell(params):
    """The cell whose state the Jacobians act on (layer K of a LayerOfStack)."""
    return params.layer if isinstance(params, LayerOfStack) else params


def _outputs(B, p, inputs):
    """The h_t of one layer (zero initial state) as backend numbers, one per step."""
    for out, _ in _steps(B, p, inputs, np.zeros(_layer_state_size(p)), input_jacobian=True):
        yield out["h"]


def _steps(B, params, inputs, s0, cell_paths=False, input_jacobian=False):
    if isinstance(params, LayerOfStack):
        u = inputs
        for p in params.below:  # the lower layers in the backend, lazily: h^{k}_t feeds layer k+1 at step t
            u = _outputs(B, p, u)
        return _steps(B, params.layer, u, s0, cell_paths=cell_paths, input_jacobian=input_jacobian)
    if isinstance(params, tuple):
        return _stack_steps(B, params, inputs, s0)
    if isinstance(params, RNNParams):
        return _rnn_steps(B, params, inputs, s0, input_jacobian=input_jacobian)
    if isinstance(params, LSTMParams):
        return _lstm_steps(B, params, inputs, s0, cell_paths=cell_paths, input_jacobian=input_jacobian)
    if isinstance(params, GRUParams):
        return _gru_steps(B, params, inputs, s0, input_jacobian=input_jacobian)
    raise InputError(f"unknown parameter type {type(params).__name__}")


def _layer_state_size(p) -> int:
    return 2 * p.hidden if isinstance(p, LSTMParams) else p.hidden


def _stack_steps(B, layers, inputs, s0):
    """Yield the rows of the stacked step Jacobian d s_t / d s_{t-1} (numerics.stacked: layer l reads
    h^{l-1}_t; row block l = X^l_t E_{l-1} M_t + J^l_t on the diagonal block), every layer evaluated
    in the backend (the h passed up the stack stays a backend number, never rounded to float64)."""
    sizes = [_layer_state_size(p) for p in layers]
    offsets = [sum(sizes[:k]) for k in range(len(layers))]
    S = sum(sizes)
    s0 = np.asarray(s0, dtype=np.float64)
    slots = [None] * len(layers)

    def feeder(k):
        while True:
            yield slots[k]

    gens = [_steps(B, p, inputs if k == 0 else feeder(k), s0[offsets[k]:offsets[k] + sizes[k]],
                   input_jacobian=True) for k, p in enumerate(layers)]
    zero = B.point(0.0)
    while True:
        rows, xrows = [], []
        prev = None
        for k, gen in enumerate(gens):
            if k > 0:
                slots[k] = prev["h"]
            try:
                out, _ = next(gen)
            except StopIteration:
                return
            N, o = sizes[k], offsets[k]
            if k == 0:
                block = [[zero] * S for _ in range(N)]
            else:
                n_prev = layers[k - 1].hidden
                H = rows[offsets[k - 1]:offsets[k - 1] + n_prev]  # h rows of block k-1
                X = out["input"]
                block = [[sum((X[r][j] * H[j][col] for j in range(1, n_prev)), X[r][0] * H[0][col])
                          for col in range(S)] for r in range(N)]
            for r in range(N):
                for j in range(N):
                    block[r][o + j] = block[r][o + j] + out["full"][r][j]
            if k == 0:
                xblock = [list(v) for v in out["input"]]
            else:  # d s^k_t / d x_t = X^k_t (h rows of d s^{k-1}_t / d x_t)
                Hx = xrows[offsets[k - 1]:offsets[k - 1] + n_prev]
                d_in = len(Hx[0])
                xblock = [[sum((X[r][j] * Hx[j][col] for j in range(1, n_prev)), X[r][0] * Hx[0][col])
                           for col in range(d_in)] for r in range(N)]
            rows.extend(block)
            xrows.extend(xblock)
            prev = out
        yield {"full": rows, "input": xrows}, None


def _initial_state(params, s0):
    if isinstance(params, tuple):
        N = sum(_layer_state_size(p) for p in params)
    else:
        N = _layer_state_size(_cell(params))
    if s0 is None:
        return np.zeros(N)
    s0 = np.asarray(s0, dtype=np.float64)
    if s0.shape != (N,) or not np.all(np.isfinite(s0)):
        raise InputError(f"initial state must be a finite vector of length {N}")
    return s0


def network_jacobians(params, inputs, s0=None, dps: int = 50):
    """The one-step Jacobians J_1..J_T of the network as mpmath matrices at ``dps`` digits (the
    high-precision trajectory; for tests and small inspections)."""
    x = np.asarray(inputs, dtype=np.float64)
    s0 = _initial_state(params, s0)
    with mpmath.workdps(int(dps)):
        return [mpmath.matrix(out["full"]) for out, _ in _steps(MpBackend(), params, x, s0)]


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class NetworkProduct:
    """log10 ||d s_T / d s_0||_2 of the network (the truth) from the reference or certified engine.

    ``log10_norm`` is -inf only for a proven zero (certified: every entry an exact zero ball;
    reference: an exact zero at two precisions). ``paths`` holds the same for the LSTM's cell-path
    products (keys cell_path, article_cell_path) when asked for."""

    engine: str
    log10_norm: float
    log10_norm_lower: float | None
    log10_norm_upper: float | None
    certified_bits: float | None
    precision_bits: int
    precision_statement: str
    attempts: tuple
    steps: int
    hidden: int
    proven_zero: bool = False
    paths: dict = field(default_factory=dict)

    @property
    def is_zero(self) -> bool:
        return self.log10_norm == -math.inf


def _chaos_bits(lyapunov: float | None, T: int) -> int:
    """Bits a trajectory loses to chaos: about max(0, lambda) T / ln 2."""
    if lyapunov is None or not math.isfinite(lyapunov) or lyapunov <= 0:
        return 0
    return int(math.ceil(lyapunov * T / math.log(2.0)))


def _streams(cell_paths: bool, params):
    return ("full", "cell_path", "article_cell_path") if cell_paths and isinstance(_cell(params), LSTMParams) else ("full",)


def _run_products(B, params, x, s0, flint, names, finish=None):
    """Tree products (numerics.engines.TreeProduct) of every requested stream of Jacobians, from
    one forward pass."""
    trees = {k: TreeProduct(finish) for k in names}
    for out, _ in _steps(B, params, x, s0, cell_paths=len(names) > 1):
        for k in names:
            trees[k].push(B.to_arb_rows(out[k], flint))
    return {k: tree.result() for k, tree in trees.items()}


def _scale_exponent(P) -> int:
    """An exponent e with the largest |midpoint| of P below 2^e (0 for the zero matrix)."""
    best = None
    for i in range(P.nrows()):
        for j in range(P.ncols()):
            m = P[i, j].mid()
            if m != 0:
                man, exp = m.man_exp()
                e = int(exp) + int(man).bit_length() if int(man) > 0 else int(exp) + (-int(man)).bit_length()
                best = e if best is None or e > best else best
    return 0 if best is None else best


def _mp_log10_norm(P, prec: int):
    """log10 ||P||_2 of an arb_mat of points, in mpmath at prec bits (SVD of the scaled matrix)."""
    n = P.nrows()
    e = _scale_exponent(P)
    with mpmath.workprec(prec):
        M = mpmath.matrix(n, n)
        zero = True
        for i in range(n):
            for j in range(n):
                man, exp = P[i, j].mid().man_exp()
                if int(man) != 0:
                    zero = False
                M[i, j] = mpmath.ldexp(mpmath.mpf(int(man)), int(exp) - e)
        if zero:
            return -math.inf
        norm = abs(M[0, 0]) if n == 1 else max(mpmath.svd_r(M, compute_uv=False))
        return float(mpmath.log10(norm) + e * mpmath.log10(2))


def _agree(a: float, b: float, digits: int = PRINTED_DIGITS) -> bool:
    """a and b agree to the printed digits: |a - b| <= half a unit of the last printed digit
    (``digits`` significant digits of max(|a|, 1))."""
    if a == b:
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    unit = 10.0 ** (math.floor(math.log10(max(abs(a), 1.0))) - (digits - 1))
    return abs(a - b) <= 0.5 * unit


def wrapping_estimate(jacobians) -> float:
    """log2 ||prod_t |J_t| ||_2 (float64 pre-pass, >= 0): how many bits the radii of a sequential
    chain of balls grow by (Johansson 2017 on the wrapping effect)."""
    from gradproof.numerics.engines import product_fast

    r = product_fast(np.abs(np.asarray(jacobians, dtype=np.float64)))
    return max(0.0, r.log10_norm / LOG10_2) if math.isfinite(r.log10_norm) else 0.0


def network_reference(params, inputs, s0=None, lyapunov: float | None = None, cell_paths: bool = False,
                      max_bits: int = 1 << 15) -> NetworkProduct:
    """The truth in mpmath (forward pass, derivatives) + p-bit products, at p and p' = p + p/2 + 32,
    raised until the two agree to the printed digits (or ``max_bits`` is reached: said so)."""
    import flint

    x = np.asarray(inputs, dtype=np.float64)
    s0 = _initial_state(params, s0)
    T = x.shape[0]
    N = s0.size
    names = _streams(cell_paths, params)
    prec = 64 + PRINTED_DIGITS * 4 + _chaos_bits(lyapunov, T) + 2 * math.ceil(math.log2(T * N + 1))
    values, attempts = [], []

    def run(p):
        old = flint.ctx.prec
        try:
            flint.ctx.prec = p
            with mpmath.workprec(p):
                Ps = _run_products(MpBackend(), params, x, s0, flint, names, finish=lambda M: M.mid())
            return {k: _mp_log10_norm(P, p) for k, P in Ps.items()}
        finally:
            flint.ctx.prec = old

    prev = run(prec)
    attempts.append(prec)
    agreed = False
    while True:
        nxt_prec = prec + prec // 2 + 32
        cur = run(nxt_prec)
        attempts.append(nxt_prec)
        values.append(cur)
        if all(_agree(prev[k], cur[k]) for k in names):
            agreed = True
            prec = nxt_prec
            break
        prev, prec = cur, nxt_prec
        if prec > max_bits:
            break
    full = cur["full"]
    statement = (f"mpmath forward pass (trajectory, gates, cancellation-free activation derivatives) and p-bit "
                 f"products (python-flint, radii dropped) at {prec} bits; "
                 + (f"agrees with the run at {attempts[-2]} bits to {PRINTED_DIGITS} printed digits"
                    if agreed else f"did NOT agree with the run at {attempts[-2]} bits to {PRINTED_DIGITS} digits "
                    f"(stopped at {max_bits} bits): digits not confirmed")
                 + f"; precisions tried (bits): {attempts}")
    return NetworkProduct(engine="reference", log10_norm=full, log10_norm_lower=None, log10_norm_upper=None,
                          certified_bits=None, precision_bits=int(prec), precision_statement=statement,
                          attempts=tuple(attempts), steps=T, hidden=N, proven_zero=False,
                          paths={k: cur[k] for k in names if k != "full"})


def network_certified(params, inputs, s0=None, target_bits: int = 53, lyapunov: float | None = None,
                      wrapping_bits: float | None = None, cell_paths: bool = False, max_attempts: int = 8,
                      max_bits: int = 1 << 16) -> NetworkProduct:
    """Rigorous Arb enclosure of the truth; precision raised until ``target_bits`` are certified.

    Start: target + 2 log2(T N) + 32 guard bits + max(lambda T / ln 2, wrapping_bits): the chaos
    loss from the fast engine's Lyapunov exponent, and the growth of the forward pass's radii,
    about log2 ||prod_t |J_t| ||_2 (the forward pass is a sequential chain of balls; estimated by
    the caller from the float64 Jacobians, see :func:`wrapping_estimate`). After an attempt that certified b < target bits at
    p bits: p + (target - b) + 32 (at least 1.25 p), or 2 p when nothing was certified; at most
    ``max_attempts`` attempts and ``max_bits`` bits, after which the result states the bits it
    could certify. flint's precision is restored on every path."""
    import flint

    if int(target_bits) != target_bits or not (1 <= target_bits <= 10000):
        raise InputError(f"target bits must be an integer in [1, 10000], got {target_bits!r}")
    x = np.asarray(inputs, dtype=np.float64)
    s0 = _initial_state(params, s0)
    T = x.shape[0]
    N = s0.size
    names = _streams(cell_paths, params)
    loss = max(_chaos_bits(lyapunov, T), int(math.ceil(wrapping_bits or 0.0)))
    prec = int(target_bits + 2 * math.ceil(math.log2(T * N + 1)) + 32 + loss)
    attempts = []
    encs = None
    for _ in range(max_attempts):
        old = flint.ctx.prec
        try:
            flint.ctx.prec = prec
            Ps = _run_products(ArbBackend(flint), params, x, s0, flint, names)
            encs = {k: enclose_log10_norm(P, _scale_exponent(P), flint) for k, P in Ps.items()}
        finally:
            flint.ctx.prec = old
        bits = min(e.bits for e in encs.values())
        attempts.append((prec, round(min(bits, 999.0), 1)))
        if bits >= target_bits or prec >= max_bits:
            break
        prec = (max(prec + int(target_bits - bits) + 32, prec + prec // 4) if bits > 0 else 2 * prec)
        prec = min(prec, max_bits)

    def mid(enc):
        if enc.proven_zero:
            return -math.inf
        if math.isfinite(enc.log10_lower) and math.isfinite(enc.log10_upper):
            return 0.5 * (enc.log10_lower + enc.log10_upper)
        return math.nan  # not certified: no number is claimed

    full = encs["full"]
    bits = min(full.bits, 999.0)
    statement = (f"Arb ball arithmetic for the forward pass (trajectory, gates, cancellation-free derivatives) and "
                 f"the tree product at {prec} bits (start: target {int(target_bits)} + 2 log2(T N) + 32 guard "
                 f"+ {loss} chaos bits); norm enclosure: {full.method}; certified relative accuracy of "
                 f"||P_T||_2: {bits:.1f} bits" + ("" if full.bits >= target_bits else
                                                  f" (fewer than the {int(target_bits)} asked for)")
                 + f"; attempts (prec, bits): {attempts}")
    return NetworkProduct(engine="certified", log10_norm=mid(full), log10_norm_lower=full.log10_lower,
                          log10_norm_upper=full.log10_upper, certified_bits=float(bits), precision_bits=int(prec),
                          precision_statement=statement, attempts=tuple(attempts), steps=T, hidden=N,
                          proven_zero=full.proven_zero,
                          paths={k: {"log10_norm": mid(e), "lower": e.log10_lower, "upper": e.log10_upper,
                                     "bits": min(e.bits, 999.0)} for k, e in encs.items() if k != "full"})

